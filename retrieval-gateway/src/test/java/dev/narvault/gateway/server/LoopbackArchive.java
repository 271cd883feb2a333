package dev.narvault.gateway.server;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.archive.HolderHealth;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import dev.narvault.core.pack.ReadBudget;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.s3.StoredObject;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.holder.store.ForwardingFragmentStore;
import dev.narvault.holder.store.FragmentStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An archive on loopback for one test: a SQLite catalog, {@code DATA + PARITY} real holders
 * (holder i stores fragment i of the pack), and one pack holding one NAR of random bytes at its
 * start, so that its bytes lie in data fragment 0, then 1, and so on. Each holder's store can be
 * paused (its reads wait until released) or made to lie. {@link #startGateway} starts the gateway
 * under test on it, with an S3 bucket that has nothing, and holder back-offs of 1 ms (a holder
 * that lied is asked again by the next request, once it is honest again).
 */
final class LoopbackArchive implements AutoCloseable {
  static final int DATA = 4;
  static final int PARITY = 2;
  static final int BLOCK_SIZE = 64 * 1024;

  final Catalog catalog;
  final List<HolderServer> holders = new ArrayList<>();
  final List<TestStore> stores = new ArrayList<>();
  private final java.util.Set<Integer> stopped = java.util.concurrent.ConcurrentHashMap.newKeySet();
  final ArchivedNar nar;
  final byte[] narBytes;
  private final NixSecretKey archiveKey = NixSecretKey.generate("test-archive-1", new SecureRandom());
  private final HttpClient http = HttpClient.newHttpClient();
  private GatewayServer gateway;

  /** A holder's real store, which the test can pause or make lie on reads. */
  static final class TestStore extends ForwardingFragmentStore {
    private final Path scratch;
    /** Serve every fragment with its bytes flipped. */
    volatile boolean lying;
    /** When set, each read waits for it (at most 30 s) before the fragment is opened. */
    volatile CountDownLatch pause;
    /** A permit for every read asked of this store, paused or not. */
    final Semaphore asked = new Semaphore(0);

    TestStore(FragmentStore real, Path scratch) throws IOException {
      super(real);
      this.scratch = Files.createDirectories(scratch);
    }

    @Override
    public Optional<FileChannel> open(FragmentId id) throws IOException {
      asked.release();
      CountDownLatch p = pause;
      try {
        if (p != null && !p.await(30, TimeUnit.SECONDS)) {
          throw new IOException("the test never released this holder");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException();
      }
      Optional<FileChannel> opened = delegate().open(id);
      if (!lying || opened.isEmpty()) {
        return opened;
      }
      byte[] bytes;
      try (FileChannel ch = opened.get()) {
        ByteBuffer all = ByteBuffer.allocate((int) ch.size());
        while (all.hasRemaining() && ch.read(all) >= 0) {
          // read it all
        }
        bytes = all.array();
      }
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] ^= 0x5a;
      }
      Path lie = Files.write(Files.createTempFile(scratch, "lie-", ".bin"), bytes);
      return Optional.of(FileChannel.open(lie, StandardOpenOption.READ, StandardOpenOption.DELETE_ON_CLOSE));
    }
  }

  LoopbackArchive(Path dir, int narLength, long seed) throws IOException {
    catalog = Catalog.open("jdbc:sqlite:" + Files.createDirectories(dir).resolve("catalog.db"));
    narBytes = new byte[narLength];
    new Random(seed).nextBytes(narBytes);
    Sha256Hash hash = Sha256Hash.of(narBytes);
    String url = "nar/" + hash.toNix32() + ".nar";
    NarInfo info = NarInfo.create(StorePath.makeSourcePath("relayed", hash, List.of()), url, "none", hash,
        narLength, hash, narLength, List.of());
    Manifest.Nar entry = new Manifest.Nar(url, 0, narLength, hash.toNixString(), info.text());
    PackLayout layout = PackLayout.of(DATA, PARITY, narLength, BLOCK_SIZE);
    List<ByteArrayOutputStream> fragments = new ArrayList<>();
    for (int i = 0; i < DATA + PARITY; i++) {
      fragments.add(new ByteArrayOutputStream());
    }
    List<FragmentDigest> digests = new PackEncoder(Codecs.create(DATA, PARITY))
        .encode(PackSource.of(narBytes), layout, fragments);
    Manifest manifest = Manifest.of(layout, digests, List.of(entry));
    PackId packId = ManifestCodec.packId(manifest);
    String signed = new String(ManifestCodec.toBytes(ManifestCodec.sign(manifest, archiveKey)),
        StandardCharsets.UTF_8);
    NixSecretKey coordinatorKey = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
    List<HolderId> holderIds = new ArrayList<>();
    for (int i = 0; i < DATA + PARITY; i++) {
      HolderConfig config = HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), dir.resolve("holder-" + i),
          1L << 30, coordinatorKey.publicKey());
      TestStore store = new TestStore(DiskFragmentStore.open(config.dataDir(), config.capacityBytes()),
          dir.resolve("scratch-" + i));
      byte[] bytes = fragments.get(i).toByteArray();
      try (FragmentStore.Upload upload = store.begin(manifest.fragments().get(i).id(), bytes.length, BLOCK_SIZE)) {
        upload.write(ByteBuffer.wrap(bytes));
        upload.commit();
      }
      HolderServer holder = HolderServer.start(config, store, InstantSource.system());
      stores.add(store);
      holders.add(holder);
      HolderId id = new HolderId(holder.holderId());
      long now = System.currentTimeMillis();
      catalog.registerHolder(HolderRecord.registering(id, holder.endpoint().toString(), "k:" + id.value(), 1L << 30,
          bytes.length, 1, "test", "", "", now, "127.0.0.1"), now);
      holderIds.add(id);
    }
    catalog.recordPack(packId, manifest, signed, holderIds, System.currentTimeMillis());
    nar = catalog.narByFileKey(url).orElseThrow();
  }

  /** Starts the gateway under test, stopping the one before; {@link #close} stops it. */
  URI startGateway(GatewayConfig config) throws IOException {
    return startGateway(config, new HolderHealth(Duration.ofMillis(1), Duration.ofMillis(1), System::nanoTime));
  }

  /** As above, the gateway's archive keeping what it learns of holders in {@code health}. */
  URI startGateway(GatewayConfig config, HolderHealth health) throws IOException {
    stopGateway();
    Archive archive = new Archive(catalog, new HolderClient(Duration.ofSeconds(30)),
        Optional.of(TrustedKeys.of(archiveKey.publicKey())), health, new ReadBudget(Archive.DEFAULT_READ_BUDGET));
    gateway = GatewayServer.start(config, archive, new EmptyBucket());
    return gateway.endpoint();
  }

  void stopGateway() {
    if (gateway != null) {
      gateway.close();
      gateway = null;
    }
  }

  /** Every holder honest and answering at once again. */
  void heal() {
    for (TestStore s : stores) {
      s.lying = false;
      CountDownLatch p = s.pause;
      s.pause = null;
      if (p != null) {
        p.countDown();
      }
    }
  }

  /** Pauses the reads of these holders until the returned latch is counted down. */
  CountDownLatch pause(int... holderIndexes) {
    CountDownLatch latch = new CountDownLatch(1);
    for (int i : holderIndexes) {
      stores.get(i).pause = latch;
    }
    return latch;
  }

  /** Fragment bytes all holders still running have sent so far, by their own count. */
  long holderBytesServed() throws Exception {
    long sum = 0;
    for (int i = 0; i < holders.size(); i++) {
      sum += holderBytesServed(i);
    }
    return sum;
  }

  /** Fragment bytes holder i has sent so far, by its own count; 0 once it is stopped. */
  long holderBytesServed(int i) throws Exception {
    return stopped.contains(i) ? 0 : metric(holders.get(i).endpoint(), "narvault_holder_served_bytes_total");
  }

  /** Stops holder i for good: its address refuses connections from now on. */
  void stopHolder(int i) {
    stopped.add(i);
    holders.get(i).close();
  }

  /** A counter from a server's {@code /metrics}. */
  long metric(URI server, String name) throws Exception {
    String text = http.send(HttpRequest.newBuilder(URI.create(server + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    Matcher m = Pattern.compile("(?m)^" + name + " (\\d+)$").matcher(text);
    if (!m.find()) {
      throw new AssertionError("no " + name + " in " + server + "/metrics");
    }
    return Long.parseLong(m.group(1));
  }

  @Override
  public void close() {
    stopGateway();
    heal();
    // All at once: each holder's graceful shutdown waits a quiet period of its own.
    try (var closing = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < holders.size(); i++) {
        if (!stopped.contains(i)) {
          closing.execute(holders.get(i)::close);
        }
      }
    }
    catalog.close();
    http.close();
  }

  /** A bucket with nothing in it: what the holders cannot serve, nobody can. */
  private static final class EmptyBucket implements ObjectSource {
    @Override
    public void list(String prefix, Consumer<StoredObject> each) {}

    @Override
    public void listTopLevel(String startAfter, Predicate<StoredObject> each) {}

    @Override
    public String location() {
      return "memory://empty";
    }

    @Override
    public String bucket() {
      return "empty";
    }

    @Override
    public OpenedObject openObject(String key, Optional<String> range) throws IOException {
      throw new ObjectNotFoundException(key);
    }

    @Override
    public StoredObject stat(String key) throws IOException {
      throw new ObjectNotFoundException(key);
    }

    @Override
    public void put(String key, byte[] bytes, String contentType) {
      throw new UnsupportedOperationException("the gateway never writes");
    }

    @Override
    public void put(String key, Path file, String contentType) {
      throw new UnsupportedOperationException("the gateway never writes");
    }

    @Override
    public void delete(String key) {
      throw new UnsupportedOperationException("the gateway never deletes");
    }

    @Override
    public void copyTo(String key, String bucket, Optional<String> storageClass) {
      throw new UnsupportedOperationException("the gateway never copies");
    }

    @Override
    public void close() {}
  }
}
