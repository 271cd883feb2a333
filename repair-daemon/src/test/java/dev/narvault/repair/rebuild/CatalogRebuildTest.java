package dev.narvault.repair.rebuild;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A catalog rebuilt from holders' listings trusts no listing: copies are restored unverified, and
 * a holder claiming many fragments of a pack gets one row of it.
 */
class CatalogRebuildTest {
  @TempDir
  Path dir;

  private final NixSecretKey archiveKey = NixSecretKey.generate("test-archive-1", new SecureRandom());
  private final FakeHolders holders = new FakeHolders();
  private final ByteArrayOutputStream progress = new ByteArrayOutputStream();
  private Manifest manifest;
  private String packId;

  /**
   * Holders on loopback, each under a path of its own ({@code /h0/v1/fragments...}): what it
   * lists, and the bytes it really has (a liar lists fragments it has no bytes of).
   */
  static final class FakeHolders {
    final Map<String, TreeSet<String>> listed = new ConcurrentHashMap<>();
    final Map<String, Map<String, byte[]>> bytes = new ConcurrentHashMap<>();
    HttpServer server;

    void start() throws IOException {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.createContext("/", this::handle);
      server.start();
    }

    String endpoint(String holder) {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + holder;
    }

    void holds(String holder, String id, byte[] content) {
      lists(holder, id);
      bytes.computeIfAbsent(holder, h -> new ConcurrentHashMap<>()).put(id, content);
    }

    void lists(String holder, String id) {
      listed.computeIfAbsent(holder, h -> new TreeSet<>()).add(id);
    }

    private void handle(HttpExchange x) throws IOException {
      try (x) {
        String[] path = x.getRequestURI().getPath().split("/");
        // "", holder, "v1", "fragments"[, id]
        String holder = path[1];
        if (path.length == 4) {
          String after = x.getRequestURI().getQuery().replaceAll(".*after=([^&]*).*", "$1");
          List<String> page = List.copyOf(listed.getOrDefault(holder, new TreeSet<>()).tailSet(after, false));
          byte[] body = JsonCodec.toJson(new HolderMessages.Listing(page, false));
          x.sendResponseHeaders(200, body.length);
          x.getResponseBody().write(body);
          return;
        }
        byte[] content = bytes.getOrDefault(holder, Map.of()).get(path[4]);
        if (content == null) {
          x.sendResponseHeaders(404, -1);
          return;
        }
        if (x.getRequestMethod().equals("HEAD")) {
          x.getResponseHeaders().set("Content-Length", Integer.toString(content.length));
          x.sendResponseHeaders(200, -1);
          return;
        }
        String[] range = x.getRequestHeaders().getFirst("Range").substring("bytes=".length()).split("-");
        int from = Integer.parseInt(range[0]);
        int to = Math.min(content.length - 1, Integer.parseInt(range[1]));
        x.sendResponseHeaders(206, to - from + 1);
        x.getResponseBody().write(content, from, to - from + 1);
      }
    }
  }

  @BeforeEach
  void pack() throws Exception {
    holders.start();
    Random random = new Random(7);
    ByteArrayOutputStream pack = new ByteArrayOutputStream();
    List<Manifest.Nar> nars = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      byte[] object = new byte[700];
      random.nextBytes(object);
      Sha256Hash h = Sha256Hash.of(object);
      String url = "nar/" + h.toNix32() + ".nar";
      NarInfo info = NarInfo.create(StorePath.makeSourcePath("p" + i, h, List.of()), url, "none", h, object.length, h,
          object.length, List.of());
      nars.add(new Manifest.Nar(url, pack.size(), object.length, h.toNixString(), info.text()));
      pack.writeBytes(object);
    }
    byte[] bytes = pack.toByteArray();
    PackLayout layout = PackLayout.of(3, 2, bytes.length, 512);
    List<OutputStream> sinks = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      sinks.add(OutputStream.nullOutputStream());
    }
    List<FragmentDigest> digests = new PackEncoder(new BackblazeCodec(3, 2)).encode(PackSource.of(bytes), layout, sinks);
    manifest = Manifest.of(layout, digests, nars);
    packId = ManifestCodec.packId(manifest).hex();
    byte[] document = ManifestCodec.toBytes(ManifestCodec.sign(manifest, archiveKey));
    holders.holds("h0", DocumentPlacer.idOf(document).hex(), document);
  }

  @AfterEach
  void stop() {
    holders.server.stop(0);
  }

  private String fragment(int index) {
    return manifest.fragments().get(index).id().hex();
  }

  private List<FragmentPlacement> rebuild(List<String> holderIds) throws Exception {
    try (Catalog target = Catalog.open("jdbc:sqlite:" + dir.resolve("rebuilt.db"))) {
      List<HolderRecord> records = new ArrayList<>();
      int n = 0;
      for (String h : holderIds) {
        records.add(HolderRecord.registering(new HolderId(h), holders.endpoint(h), "k:" + h, 1L << 30, 0, 0, "v", "", "", 1,
            "198.51." + n++ + ".1"));
      }
      new CatalogRebuild(target, new HolderClient(Duration.ofSeconds(5)), TrustedKeys.of(archiveKey.publicKey()),
          new PrintStream(progress, true, StandardCharsets.UTF_8), InstantSource.fixed(Instant.ofEpochMilli(1000)))
          .run(records);
      return target.placements(new PackId(packId));
    }
  }

  private static Map<String, List<Integer>> indexesByHolder(List<FragmentPlacement> rows) {
    Map<String, List<Integer>> by = new TreeMap<>();
    rows.forEach(p -> by.computeIfAbsent(p.holderId().value(), h -> new ArrayList<>()).add(p.fragmentIndex()));
    return by;
  }

  @Test
  void run_restoresEveryCopyUnverified_andAHolderListingEveryFragmentGetsOneRow() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
      holders.lists("liar", fragment(i));
    }
    List<FragmentPlacement> rows = rebuild(List.of("h0", "h1", "h2", "h3", "h4", "liar"));
    assertTrue(rows.stream().allMatch(p -> p.state() == FragmentState.UNVERIFIED), rows.toString());
    Map<String, List<Integer>> by = indexesByHolder(rows);
    for (int i = 0; i < 5; i++) {
      assertEquals(List.of(i), by.get("h" + i));
    }
    assertEquals(List.of(0), by.get("liar"), "no index is the liar's alone: the lowest");
    String out = progress.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("holder liar lists 5 of its fragments; recorded index 0 only, ignored [1, 2, 3, 4]"), out);
  }

  @Test
  void run_aHolderListingSeveralFragments_keepsTheLowestItAloneLists() throws Exception {
    for (int i = 0; i < 3; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    // "many" claims 1 (h1 lists it too), 3 ("other" lists it too) and 4 (nobody else does).
    for (int i : new int[] {1, 3, 4}) {
      holders.lists("many", fragment(i));
    }
    holders.lists("other", fragment(3));
    Map<String, List<Integer>> by = indexesByHolder(rebuild(List.of("h0", "h1", "h2", "many", "other")));
    assertEquals(List.of(4), by.get("many"));
    assertEquals(List.of(3), by.get("other"));
    assertEquals(List.of(1), by.get("h1"));
    String out = progress.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("holder many lists 3 of its fragments; recorded index 4 only, ignored [1, 3]"), out);
  }
}
