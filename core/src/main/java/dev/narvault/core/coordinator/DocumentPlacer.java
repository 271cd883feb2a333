package dev.narvault.core.coordinator;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.FragmentHasher;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Stores a signed document (a pack's manifest, an alias) on {@value #COPIES} holders chosen by the
 * coordinator, as a fragment whose id is computed over the document's bytes like any fragment's.
 * With copies of every document on holders, the catalog can be rebuilt from the holders alone.
 */
public final class DocumentPlacer {
  /** Copies of each document: any one suffices, so three survive two holders leaving at once. */
  public static final int COPIES = 3;

  private final FragmentPlacer placer;
  private final Path workDir;

  public DocumentPlacer(FragmentPlacer placer, Path workDir) {
    this.placer = placer;
    this.workDir = workDir;
  }

  /** The id a document is stored under. */
  public static FragmentId idOf(byte[] document) {
    FragmentHasher hasher = new FragmentHasher(PackLayout.DEFAULT_BLOCK_SIZE);
    hasher.update(document, 0, document.length);
    return hasher.finish().id();
  }

  /**
   * The pack id a document's placement is asked (and its orders recorded) under:
   * {@code document-<id>}. A worker marks it pending while it places the document.
   */
  public static PackId placementId(FragmentId id) {
    return new PackId("document-" + id.hex());
  }

  /**
   * Places {@code copies} copies of the document, apart from {@code alreadyOn} (holders that have
   * one already); returns the id and the holders that took one.
   */
  public Catalog.DocumentCopies place(byte[] document, int copies, Set<HolderId> alreadyOn) throws IOException {
    FragmentId id = idOf(document);
    Files.createDirectories(workDir);
    Path file = Files.createTempFile(workDir, "document-", ".json");
    try {
      Files.write(file, document);
      List<FragmentPlacer.Fragment> wanted = new ArrayList<>();
      for (int i = 0; i < copies; i++) {
        wanted.add(new FragmentPlacer.Fragment(i, id, file));
      }
      // Copies as parity: no wider network or operator gets more than one of the three.
      List<HolderId> holders = placer.place(placementId(id), COPIES - 1, PackLayout.DEFAULT_BLOCK_SIZE, wanted,
              alreadyOn)
          .stream().map(FragmentPlacer.Placed::holderId).toList();
      return new Catalog.DocumentCopies(id.hex(), holders);
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
