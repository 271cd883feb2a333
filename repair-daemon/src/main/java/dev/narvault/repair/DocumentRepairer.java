package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.Documents;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import dev.narvault.repair.policy.HolderRules;
import java.io.IOException;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the signed documents (manifests, aliases) that let the catalog be rebuilt from the
 * holders alone at {@link DocumentPlacer#COPIES} healthy copies each.
 */
final class DocumentRepairer {
  private static final Logger LOG = LoggerFactory.getLogger(DocumentRepairer.class);

  private final Catalog catalog;
  private final Documents documents;
  private final HolderClient holders;
  private final PlacementService placements;
  private final HolderRules rules;
  private final Path workDir;
  private final InstantSource clock;

  DocumentRepairer(Catalog catalog, HolderClient holders, PlacementService placements, HolderRules rules, Path workDir,
      InstantSource clock) {
    this.catalog = catalog;
    this.documents = catalog.documents();
    this.holders = holders;
    this.placements = placements;
    this.rules = rules;
    this.workDir = workDir;
    this.clock = clock;
  }

  /**
   * Keeps {@link DocumentPlacer#COPIES} healthy copies of every signed document (manifests,
   * aliases) on holders: documents with a copy on an unhealthy holder get new copies, from the
   * catalog's text, on other holders. Returns how many copies were placed. The lease of the
   * round is confirmed before each document's copies are placed or superseded.
   */
  int repairDocuments(SharedWork.Held held) throws CatalogException {
    long now = clock.millis();
    List<HolderRecord> all = catalog.holders();
    Set<HolderId> healthy = new HashSet<>();
    List<HolderId> unhealthy = new ArrayList<>();
    for (HolderRecord h : all) {
      if (rules.healthy(h, now)) {
        healthy.add(h.holderId());
      } else {
        unhealthy.add(h.holderId());
      }
    }
    int placed = 0;
    DocumentPlacer placer = new DocumentPlacer(new FragmentPlacer(placements, holders), workDir);
    Set<HolderId> leaving = new HashSet<>();
    for (HolderRecord h : all) {
      if (rules.live(h, now) && !rules.healthy(h, now)) {
        leaving.add(h.holderId());
      }
    }
    for (Documents.Document d : documents.documentsOn(unhealthy)) {
      held.check();
      long good = d.holders().stream().filter(healthy::contains).count();
      if (good >= DocumentPlacer.COPIES) {
        // Enough copies elsewhere: those on leaving or suspect holders can go.
        for (HolderId h : d.holders()) {
          if (leaving.contains(h)) {
            documents.supersedeDocumentCopy(d.docId(), h);
          }
        }
        continue;
      }
      try {
        byte[] body = documents.documentBody(d.docId()).orElseThrow(() -> new IOException("no text for document "
            + d.docId())).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        var copies = placer.place(body, (int) (DocumentPlacer.COPIES - good), Set.copyOf(d.holders()));
        documents.addDocumentCopies(d.docId(), copies.holders());
        placed += copies.holders().size();
        if (good + copies.holders().size() >= DocumentPlacer.COPIES) {
          for (HolderId h : d.holders()) {
            if (leaving.contains(h)) {
              documents.supersedeDocumentCopy(d.docId(), h);
            }
          }
        }
      } catch (IOException e) {
        LOG.warn("document {} of pack {}: could not place new copies: {}", d.docId(), d.packId().shortForm(),
            e.getMessage());
      }
    }
    return placed;
  }
}
