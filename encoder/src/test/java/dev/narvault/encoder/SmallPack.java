package dev.narvault.encoder;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;

/**
 * A pack of three small uncompressed NARs (900–902 random bytes each, their narinfos signed by
 * nobody) and its manifest, in blocks of 512: what the encoder's unit tests archive.
 */
record SmallPack(byte[] bytes, Manifest manifest) {
  /**
   * The NARs from {@code seed}, each handed to {@code object} (its S3 key and bytes) as it is
   * made, encoded RS(k, m).
   */
  static SmallPack of(long seed, int k, int m, BiConsumer<String, byte[]> object) throws IOException {
    Random random = new Random(seed);
    ByteArrayOutputStream pack = new ByteArrayOutputStream();
    List<Manifest.Nar> nars = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      byte[] nar = new byte[900 + i];
      random.nextBytes(nar);
      Sha256Hash h = Sha256Hash.of(nar);
      String url = "nar/" + h.toNix32() + ".nar";
      NarInfo info = NarInfo.create(StorePath.makeSourcePath("p" + i, h, List.of()), url, "none", h, nar.length, h,
          nar.length, List.of());
      nars.add(new Manifest.Nar(url, pack.size(), nar.length, h.toNixString(), info.text()));
      pack.writeBytes(nar);
      object.accept(url, nar);
    }
    byte[] bytes = pack.toByteArray();
    PackLayout layout = PackLayout.of(k, m, bytes.length, 512);
    List<OutputStream> sinks = new ArrayList<>();
    for (int i = 0; i < k + m; i++) {
      sinks.add(OutputStream.nullOutputStream());
    }
    List<FragmentDigest> digests = new PackEncoder(new BackblazeCodec(k, m)).encode(PackSource.of(bytes), layout, sinks);
    return new SmallPack(bytes, Manifest.of(layout, digests, nars));
  }
}
