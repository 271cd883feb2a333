package dev.narvault.repair.rebuild;

import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import dev.narvault.core.pack.SignedAlias;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Small real packs for rebuild tests: encoded fragments, the signed manifest, alias documents. */
final class TestPacks {
  private TestPacks() {}

  /** A pack: its manifest and id, the signed document, and each fragment's bytes by index. */
  record Pack(Manifest manifest, PackId packId, byte[] document, List<byte[]> fragments) {
    String documentId() {
      return DocumentPlacer.idOf(document).hex();
    }

    String fragmentId(int index) {
      return manifest.fragments().get(index).id().hex();
    }
  }

  /** A pack of NARs of these sizes (random bytes), RS(k, m), signed with {@code key}. */
  static Pack pack(Random random, int k, int m, int[] narSizes, NixSecretKey key) throws IOException {
    ByteArrayOutputStream pack = new ByteArrayOutputStream();
    List<Manifest.Nar> nars = new ArrayList<>();
    for (int size : narSizes) {
      byte[] object = new byte[size];
      random.nextBytes(object);
      Sha256Hash h = Sha256Hash.of(object);
      String url = "nar/" + h.toNix32() + ".nar";
      NarInfo info = NarInfo.create(StorePath.makeSourcePath("p" + random.nextInt(1 << 30), h, List.of()), url, "none",
          h, object.length, h, object.length, List.of());
      nars.add(new Manifest.Nar(url, pack.size(), object.length, h.toNixString(), info.text()));
      pack.writeBytes(object);
    }
    byte[] bytes = pack.toByteArray();
    PackLayout layout = PackLayout.of(k, m, bytes.length, 512);
    List<ByteArrayOutputStream> sinks = new ArrayList<>();
    for (int i = 0; i < k + m; i++) {
      sinks.add(new ByteArrayOutputStream());
    }
    List<FragmentDigest> digests = new PackEncoder(new BackblazeCodec(k, m)).encode(PackSource.of(bytes), layout,
        List.<OutputStream>copyOf(sinks));
    Manifest manifest = Manifest.of(layout, digests, nars);
    byte[] document = ManifestCodec.toBytes(ManifestCodec.sign(manifest, key));
    return new Pack(manifest, ManifestCodec.packId(manifest), document,
        sinks.stream().map(ByteArrayOutputStream::toByteArray).toList());
  }

  /** An alias document: another store path naming the NAR at {@code nar} of {@code pack}. */
  static byte[] alias(Pack pack, int nar, String name, NixSecretKey key) {
    Manifest.Nar original = pack.manifest().nars().get(nar);
    NarInfo info = NarInfo.parse(original.narInfo());
    StorePath twin = StorePath.makeSourcePath(name, info.narHash(), List.of());
    NarInfo twinInfo = NarInfo.parse(original.narInfo().replace(info.storePath().toString(), twin.toString()));
    SignedAlias.Alias alias = new SignedAlias.Alias(SignedAlias.Alias.FORMAT, pack.packId().hex(),
        new Manifest.Nar(original.key(), original.offset(), original.length(), original.fileHash(), twinInfo.text()));
    return ManifestCodec.toBytes(ManifestCodec.signAlias(alias, key));
  }
}
