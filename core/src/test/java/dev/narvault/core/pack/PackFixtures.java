package dev.narvault.core.pack;

import dev.narvault.core.erasure.Codec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Builds small packs of random "NAR objects" with valid narinfos, all in memory. */
final class PackFixtures {
  /** A pack: its bytes, layout, fragments, and manifest. */
  record Encoded(byte[] pack, PackLayout layout, byte[][] fragments, Manifest manifest) {}

  private PackFixtures() {}

  static Manifest.Nar nar(String name, long offset, byte[] object) {
    Sha256Hash hash = Sha256Hash.of(object);
    String url = "nar/" + hash.toNix32() + ".nar";
    NarInfo info = NarInfo.create(StorePath.makeSourcePath(name, hash, List.of()), url, "none", hash,
        object.length, hash, object.length, List.of());
    return new Manifest.Nar(url, offset, object.length, hash.toNixString(), info.text());
  }

  static Encoded encode(Codec codec, int[] objectSizes, int blockSize, long seed) {
    Random random = new Random(seed);
    ByteArrayOutputStream pack = new ByteArrayOutputStream();
    List<Manifest.Nar> nars = new ArrayList<>();
    for (int i = 0; i < objectSizes.length; i++) {
      byte[] object = new byte[objectSizes[i]];
      random.nextBytes(object);
      nars.add(nar("obj" + i, pack.size(), object));
      pack.writeBytes(object);
    }
    byte[] bytes = pack.toByteArray();
    PackLayout layout = PackLayout.of(codec.dataFragmentCount(), codec.parityFragmentCount(), bytes.length, blockSize);
    List<ByteArrayOutputStream> outs = new ArrayList<>();
    for (int i = 0; i < layout.totalFragmentCount(); i++) {
      outs.add(new ByteArrayOutputStream());
    }
    try {
      List<FragmentDigest> digests = new PackEncoder(codec, 4 * blockSize).encode(PackSource.of(bytes), layout, outs);
      byte[][] fragments = outs.stream().map(ByteArrayOutputStream::toByteArray).toArray(byte[][]::new);
      return new Encoded(bytes, layout, fragments, Manifest.of(layout, digests, nars));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
