package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarNode;
import dev.narvault.core.nix.NarWriter;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The test vector in {@code docs/format.md} is what this code computes: every {@code name: value}
 * line of the doc's vector block is recomputed here and compared. Run with
 * {@code -Dnarvault.printVector=true} to print the block when the format changes on purpose.
 */
class FormatVectorTest {
  static Map<String, String> compute() throws Exception {
    HexFormat hex = HexFormat.of();
    byte[] seed = new byte[32];
    for (int i = 0; i < 32; i++) {
      seed[i] = (byte) i;
    }
    NixSecretKey key = NixSecretKey.fromSeed("format-vector-1", seed);
    ByteArrayOutputStream nar = new ByteArrayOutputStream();
    NarWriter.write(NarNode.file("narvault\n".getBytes(StandardCharsets.UTF_8)), nar);
    byte[] object = nar.toByteArray();
    Sha256Hash hash = Sha256Hash.of(object);
    StorePath path = StorePath.makeSourcePath("vector", hash, List.of());
    String url = "nar/" + hash.toNix32() + ".nar";
    NarInfo info = key.sign(NarInfo.create(path, url, "none", hash, object.length, hash, object.length, List.of()));

    PackLayout layout = PackLayout.of(3, 2, object.length, 32);
    List<ByteArrayOutputStream> outs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      outs.add(new ByteArrayOutputStream());
    }
    List<FragmentDigest> digests = new PackEncoder(new BackblazeCodec(3, 2)).encode(PackSource.of(object), layout, outs);
    Manifest manifest = Manifest.of(layout, digests,
        List.of(new Manifest.Nar(url, 0, object.length, hash.toNixString(), info.text())));
    SignedManifest signed = ManifestCodec.sign(manifest, key);
    ManifestCodec.verify(ManifestCodec.toBytes(signed), TrustedKeys.of(key.publicKey()));

    Map<String, String> v = new LinkedHashMap<>();
    v.put("archive-public-key", key.publicKey().toString());
    v.put("nar-object", hex.formatHex(object));
    v.put("nar-file-hash", hash.toNixString());
    v.put("store-path", path.toString());
    v.put("fragment-size", Long.toString(layout.fragmentSize()));
    for (int i = 0; i < 5; i++) {
      v.put("fragment-" + i, hex.formatHex(outs.get(i).toByteArray()));
      v.put("fragment-" + i + "-block-hashes", digests.get(i).blockHashes().toBase64());
      v.put("fragment-" + i + "-id", digests.get(i).id().hex());
    }
    v.put("manifest", new String(ManifestCodec.canonical(manifest), StandardCharsets.UTF_8));
    v.put("pack-id", ManifestCodec.packId(manifest).hex());
    v.put("manifest-signature", signed.signatures().getFirst());
    return v;
  }

  static Map<String, String> fromDoc() throws IOException {
    Path doc = Path.of(System.getProperty("user.dir")).getParent().resolve("docs/format.md");
    String text = Files.readString(doc);
    String begin = "<!-- test-vector:begin -->";
    String block = text.substring(text.indexOf(begin) + begin.length(), text.indexOf("<!-- test-vector:end -->"));
    Map<String, String> v = new LinkedHashMap<>();
    for (String line : block.split("\n")) {
      int colon = line.indexOf(": ");
      if (colon > 0 && !line.startsWith("```")) {
        v.put(line.substring(0, colon), line.substring(colon + 2));
      }
    }
    return v;
  }

  @Test
  void docsFormatMd_testVectorMatchesTheCode() throws Exception {
    Map<String, String> computed = compute();
    if (Boolean.getBoolean("narvault.printVector")) {
      computed.forEach((k, val) -> System.out.println(k + ": " + val));
    }
    Map<String, String> documented = fromDoc();
    assertFalse(documented.isEmpty(), "docs/format.md has no test vector block");
    assertEquals(computed.keySet(), documented.keySet());
    for (String k : computed.keySet()) {
      assertEquals(computed.get(k), documented.get(k), k);
    }
  }
}
