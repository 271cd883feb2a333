package dev.narvault.encoder;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.s3.StoredObject;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drain deletes an S3 object only when its pack is safely placed as the catalog says right
 * then: fragments stored on holders heard from and reached within the coordinator's liveness
 * window, not disqualified, suspect or leaving, and counted within the failure-domain limits.
 * A pack with RS(4,4) and the default r = ⌈m/2⌉ = 2 needs 6 fragments that count.
 */
class DrainerTest {
  private static final long HOUR = Duration.ofHours(1).toMillis();
  private static final CoordinatorMessages.Policy POLICY = new CoordinatorMessages.Policy(HOUR, -1, -1, -1);

  @TempDir
  Path dir;

  private final FakeClock clock = new FakeClock(1_000_000);
  private final FakeObjects s3 = new FakeObjects();
  private Catalog catalog;
  private Manifest manifest;
  private PackId packId;

  /** Time that moves only when a test says so. */
  static final class FakeClock implements InstantSource {
    long millis;

    FakeClock(long millis) {
      this.millis = millis;
    }

    void advance(long by) {
      millis += by;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }
  }

  /** A bucket in memory: what the drain stats, copies and deletes. */
  static final class FakeObjects implements ObjectSource {
    /** Whether a drain may copy objects to another bucket (a move); those it copied. */
    boolean copiesAllowed;
    final List<String> copied = new ArrayList<>();

    final Map<String, byte[]> objects = new TreeMap<>();
    /** Runs once a stat has seen what it answers, before it answers: what happens meanwhile. */
    java.util.function.Consumer<String> afterStat = key -> {};

    @Override
    public void list(String prefix, Consumer<StoredObject> each) {
      objects.forEach((k, v) -> {
        if (k.startsWith(prefix)) {
          each.accept(new StoredObject(k, v.length, Instant.EPOCH));
        }
      });
    }

    @Override
    public void listTopLevel(String startAfter, Predicate<StoredObject> each) {
      throw new UnsupportedOperationException("the drain never lists");
    }

    @Override
    public String location() {
      return "memory://fake";
    }

    @Override
    public String bucket() {
      return "cache";
    }

    @Override
    public OpenedObject openObject(String key, Optional<String> range) {
      throw new UnsupportedOperationException("the drain never reads S3");
    }

    @Override
    public StoredObject stat(String key) throws ObjectNotFoundException {
      byte[] bytes = objects.get(key);
      afterStat.accept(key);
      if (bytes == null) {
        throw new ObjectNotFoundException(key);
      }
      return new StoredObject(key, bytes.length, Instant.EPOCH);
    }

    @Override
    public void put(String key, byte[] bytes, String contentType) {
      objects.put(key, bytes);
    }

    @Override
    public void put(String key, Path file, String contentType) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void delete(String key) {
      objects.remove(key);
    }

    @Override
    public void copyTo(String key, String bucket, Optional<String> storageClass) {
      if (!copiesAllowed) {
        throw new UnsupportedOperationException("these tests delete");
      }
      copied.add(key);
    }

    @Override
    public void close() {}
  }

  @BeforeEach
  void openCatalog() throws Exception {
    catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("catalog.db"));
    manifest = SmallPack.of(11, 4, 4, (key, object) -> s3.put(key, object, "application/x-nix-nar")).manifest();
    packId = ManifestCodec.packId(manifest);
  }

  @AfterEach
  void closeCatalog() {
    catalog.close();
  }

  /** Holders h0..h7, one fragment each, at these proven addresses; heard from and reached now. */
  private void placeOn(List<String> addresses) throws Exception {
    List<HolderId> holders = new ArrayList<>();
    for (int i = 0; i < addresses.size(); i++) {
      HolderId id = new HolderId("h" + i);
      catalog.registerHolder(HolderRecord.registering(id, "http://" + addresses.get(i) + ":7070", "k:" + id, 1L << 30,
          0, 0, "v", "", "", clock.millis(), addresses.get(i)), clock.millis());
      holders.add(id);
    }
    catalog.recordPack(packId, manifest, "{}", holders, clock.millis());
  }

  /** Each holder in a wider network of its own. */
  private void placeApart() throws Exception {
    List<String> addresses = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      addresses.add("10." + (i + 1) + ".0.1");
    }
    placeOn(addresses);
  }

  /** The holder heartbeats and the coordinator reaches it, now. */
  private void alive(String holderId) throws Exception {
    catalog.recordHeartbeat(new HolderId(holderId), 0, 1, "v", clock.millis(), clock.millis());
    catalog.registry().recordContact(new HolderId(holderId), true, clock.millis());
  }

  private void verifyAll() throws Exception {
    for (Manifest.Nar nar : manifest.nars()) {
      catalog.journal().advance(nar.key(), Journal.State.COMMITTED, Journal.State.VERIFIED, clock.millis());
    }
  }

  /** Fragments whose holders answer a probe that they no longer have them (by fragment id). */
  private final java.util.Set<String> lostFragments = new java.util.HashSet<>();
  private final java.util.concurrent.atomic.AtomicInteger probes = new java.util.concurrent.atomic.AtomicInteger();
  /** Fragments whose holders hold fewer bytes than the manifest says (by fragment id). */
  private final java.util.Set<String> truncated = new java.util.HashSet<>();
  /** The endpoints probes went to. */
  private final java.util.Set<String> probedAt = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Runs at each probe: what happens elsewhere while the drain judges a pack. */
  private Runnable onProbe = () -> {};

  private Drainer drainer(CoordinatorMessages.Policy policy) {
    // The holders are never read: verified entries are not read back again, and unsafe packs not at all.
    Archive archive = new Archive(catalog, new HolderClient(Duration.ofSeconds(1)), Optional.empty());
    // The drain's trusted keys go to the Archive it reads through; this test gives it its own.
    return new Drainer(catalog, archive, s3, DrainConfig.delete(dev.narvault.core.nix.TrustedKeys.of(
        dev.narvault.core.nix.NixSecretKey.generate("test-archive-1", new java.security.SecureRandom()).publicKey())),
        policy, (endpoint, fragmentId, length) -> {
          onProbe.run();
          probes.incrementAndGet();
          probedAt.add(endpoint);
          assertEquals(manifest.fragmentSize(), length, "the probe checks the fragment's whole length");
          return !lostFragments.contains(fragmentId) && !truncated.contains(fragmentId);
        }, clock);
  }

  private Drainer drainer(InUse inUse) {
    Archive archive = new Archive(catalog, new HolderClient(Duration.ofSeconds(1)), Optional.empty());
    return new Drainer(catalog, archive, s3, DrainConfig.delete(dev.narvault.core.nix.TrustedKeys.of(
        dev.narvault.core.nix.NixSecretKey.generate("test-archive-1", new java.security.SecureRandom()).publicKey())),
        inUse, POLICY, (endpoint, fragmentId, length) -> true, clock);
  }

  private void requestedNow(Manifest.Nar nar) throws Exception {
    dev.narvault.core.catalog.AccessRecords.Batch batch = new dev.narvault.core.catalog.AccessRecords.Batch();
    batch.add(nar.key(), clock.millis());
    catalog.access().record(batch);
  }

  @Test
  void drainPending_anObjectRequestedWithinTheWindow_isNotDeleted_howeverSafeItsPack() throws Exception {
    placeApart();
    verifyAll();
    requestedNow(manifest.nars().get(1));
    clock.advance(Duration.ofDays(10).toMillis());
    for (int i = 0; i < 8; i++) {
      alive("h" + i);
    }
    InUse inUse = new InUse(Optional.empty(), Optional.of(Duration.ofDays(30)), catalog.access(), clock);
    drainer(inUse).drainPending();
    assertEquals(List.of(Journal.State.DRAINED, Journal.State.VERIFIED, Journal.State.DRAINED), states());
    assertEquals(java.util.Set.of(manifest.nars().get(1).key()), s3.objects.keySet());
    assertEquals(1, inUse.keptRequested());
    // Past the window, nothing keeps it.
    clock.advance(Duration.ofDays(30).toMillis());
    for (int i = 0; i < 8; i++) {
      alive("h" + i);
    }
    drainer(new InUse(Optional.empty(), Optional.of(Duration.ofDays(30)), catalog.access(), clock)).drainPending();
    assertTrue(s3.objects.isEmpty());
  }

  @Test
  void drainPending_restoredObjectsUnusedAgain_goBackToCommitted_andThoseInUseStay() throws Exception {
    placeApart();
    for (Manifest.Nar nar : manifest.nars()) {
      for (Journal.State[] step : List.of(new Journal.State[] {Journal.State.COMMITTED, Journal.State.VERIFIED},
          new Journal.State[] {Journal.State.VERIFIED, Journal.State.DRAINED},
          new Journal.State[] {Journal.State.DRAINED, Journal.State.RESTORED})) {
        catalog.journal().advance(nar.key(), step[0], step[1], clock.millis());
      }
    }
    clock.advance(Duration.ofDays(40).toMillis());
    requestedNow(manifest.nars().get(0));
    // Without --unused-for, restored objects are left alone.
    drainer(POLICY).drainPending();
    assertEquals(List.of(Journal.State.RESTORED, Journal.State.RESTORED, Journal.State.RESTORED), states());
    // With it, the unused ones go back to committed, to be read back and drained like any other (the
    // holders here cannot be read, so they stay committed and in S3).
    drainer(new InUse(Optional.empty(), Optional.of(Duration.ofDays(30)), catalog.access(), clock)).drainPending();
    assertEquals(List.of(Journal.State.RESTORED, Journal.State.COMMITTED, Journal.State.COMMITTED), states());
    assertEquals(3, s3.objects.size(), "nothing deleted without a verified read-back");
  }

  @Test
  void drainPending_anObjectRestoredRecently_staysThoughS3HasHadItLong() throws Exception {
    placeApart();
    clock.advance(Duration.ofDays(40).toMillis());
    // Restore found it in the bucket (never drained, uploaded long ago) and recorded it just now.
    String key = manifest.nars().get(0).key();
    recordRestored(key, "cache");
    drainer(new InUse(Optional.empty(), Optional.of(Duration.ofDays(30)), catalog.access(), clock)).drainPending();
    assertEquals(Journal.State.RESTORED, states().get(0), "put back within the window");
    clock.advance(Duration.ofDays(31).toMillis());
    drainer(new InUse(Optional.empty(), Optional.of(Duration.ofDays(30)), catalog.access(), clock)).drainPending();
    assertEquals(Journal.State.COMMITTED, states().get(0), "unused for the whole window since");
  }

  /** Records an object as put back, as a put-back does: under its claim. */
  private void recordRestored(String key, String bucket) throws Exception {
    assertTrue(catalog.journal().claimObject(key, "test-put-back", clock.millis(), clock.millis() + HOUR));
    catalog.journal().restored(key, bucket, "test-put-back", clock.millis());
    catalog.journal().releaseObjects("test-put-back", List.of(key));
  }

  private PutBack putBack() throws Exception {
    return new PutBack(catalog, new Archive(catalog, new HolderClient(Duration.ofSeconds(1)), Optional.empty()), s3,
        "cache", Optional.empty(), dir.resolve("put-back"), clock);
  }

  private List<String> sortedKeys() {
    return manifest.nars().stream().map(Manifest.Nar::key).sorted().toList();
  }

  @Test
  void drainPending_whileAPutBackFoundTheObject_andHasNotRecordedIt_doesNotDeleteIt() throws Exception {
    placeApart();
    verifyAll();
    clock.advance(HOUR / 2);
    String key = sortedKeys().get(1);
    Drainer drainer = drainer(POLICY);
    // The put-back's HEAD finds the object; before it records it as put back, a drain runs whole.
    s3.afterStat = k -> {
      s3.afterStat = any -> {};
      try {
        drainer.drainPending();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    };
    try (PutBack putBack = putBack()) {
      assertEquals(PutBack.Outcome.FOUND, putBack.putBack(catalog.narByFileKey(key).orElseThrow()));
    }
    assertEquals(java.util.Set.of(key), s3.objects.keySet(), "journalled as put back, so still there");
    assertTrue(catalog.journal().isRestoredIn(key, "cache"));
    assertEquals(new Drainer.Result(2, drainer.result().bytes(), 0), drainer.result(), "the other two drained");
  }

  @Test
  void putBack_whileTheDrainDeletesTheObject_recordsNothing_andFails() throws Exception {
    placeApart();
    verifyAll();
    clock.advance(HOUR / 2);
    String key = sortedKeys().getFirst();
    java.util.List<Exception> putBackSaid = new ArrayList<>();
    // While the drain judges the first object's pack, right before it deletes it, a put-back comes.
    onProbe = () -> {
      onProbe = () -> {};
      try (PutBack putBack = putBack()) {
        putBack.putBack(catalog.narByFileKey(key).orElseThrow());
      } catch (Exception e) {
        putBackSaid.add(e);
      }
    };
    drainer(POLICY).drainPending();
    assertEquals(1, putBackSaid.size(), "the put-back failed: " + putBackSaid);
    assertTrue(putBackSaid.getFirst().getMessage().contains("another worker holds it"), putBackSaid.toString());
    assertTrue(s3.objects.isEmpty());
    assertEquals(List.of(Journal.State.DRAINED, Journal.State.DRAINED, Journal.State.DRAINED), states(),
        "never journalled as put back while it is gone");
  }

  @Test
  void putBack_journalledAsPutBackButGoneFromTheBucket_isNotTakenAsDone() throws Exception {
    placeApart();
    String gone = sortedKeys().get(0);
    String there = sortedKeys().get(1);
    recordRestored(gone, "cache");
    recordRestored(there, "cache");
    s3.objects.remove(gone); // deleted by hand, or by a drain of before the claims
    try (PutBack putBack = putBack()) {
      assertEquals(PutBack.Outcome.DONE_BEFORE, putBack.putBack(catalog.narByFileKey(there).orElseThrow()));
      // Read through the holders to be put again: they cannot be read here, so it fails (the
      // next run tries again) rather than count as done.
      org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
          () -> putBack.putBack(catalog.narByFileKey(gone).orElseThrow()));
    }
  }

  @Test
  void drainPending_anAliasEntryVerifiedBesideRestoredOnes_isNotDeleted() throws Exception {
    placeApart();
    clock.advance(HOUR / 2);
    String key = sortedKeys().getFirst();
    recordRestored(key, "cache");
    String alias = "0".repeat(31) + "9";
    assertTrue(catalog.addAlias(alias, catalog.narByFileKey(key).orElseThrow(),
        "StorePath: /nix/store/" + alias + "-alias\n", clock.millis()));
    // As a catalog of before this change has it: the alias entered committed and was read back.
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("catalog.db"));
        java.sql.Statement s = c.createStatement()) {
      s.executeUpdate("UPDATE journal SET state = 'verified', restored_to = NULL WHERE store_hash = '" + alias + "'");
    }
    drainer(POLICY).drainPending();
    assertTrue(s3.objects.containsKey(key), "another entry of it is restored");
  }

  @Test
  void drainPending_unusedAgain_leavesObjectsPutBackIntoAnotherBucketRestoredThere() throws Exception {
    placeApart();
    List<String> keys = sortedKeys();
    recordRestored(keys.get(0), "elsewhere");
    recordRestored(keys.get(1), "cache");
    clock.advance(Duration.ofDays(40).toMillis());
    drainer(new InUse(Optional.empty(), Optional.of(Duration.ofDays(30)), catalog.access(), clock)).drainPending();
    String elsewhere = catalog.narByFileKey(keys.get(0)).orElseThrow().storeHash();
    String here = catalog.narByFileKey(keys.get(1)).orElseThrow().storeHash();
    assertEquals(Optional.of(Journal.State.RESTORED), catalog.journal().state(elsewhere));
    assertEquals(Optional.of("elsewhere"), catalog.journal().restoredTo(elsewhere), "not this drain's bucket");
    assertEquals(Optional.of(Journal.State.COMMITTED), catalog.journal().state(here), "this bucket's: unused again");
  }

  @Test
  void putBack_removesWhatKilledRunsLeft_andNothingElse() throws Exception {
    Path work = java.nio.file.Files.createDirectories(dir.resolve("put-back"));
    Path killed = java.nio.file.Files.createDirectories(work.resolve(PutBack.RUN_PREFIX + "killed"));
    java.nio.file.Files.write(killed.resolve(".lock"), new byte[0]);
    java.nio.file.Files.write(killed.resolve("put-back-123.nar"), new byte[100]);
    java.nio.file.Files.write(work.resolve("put-back-456.nar"), new byte[100]); // a version of before run directories
    java.nio.file.Files.write(work.resolve("notes.txt"), new byte[1]);
    Path other = java.nio.file.Files.createDirectories(work.resolve("paths"));
    try (PutBack live = putBack()) {
      List<Path> runs;
      try (var listed = java.nio.file.Files.list(work)) {
        runs = listed.filter(p -> p.getFileName().toString().startsWith(PutBack.RUN_PREFIX)).toList();
      }
      assertEquals(1, runs.size(), "the killed run's directory went, this run's is there: " + runs);
      try (PutBack second = putBack()) {
        assertTrue(java.nio.file.Files.isDirectory(runs.getFirst()), "a live run's directory is left alone");
      }
      assertFalse(java.nio.file.Files.exists(killed));
      assertFalse(java.nio.file.Files.exists(work.resolve("put-back-456.nar")));
      assertTrue(java.nio.file.Files.exists(work.resolve("notes.txt")));
      assertTrue(java.nio.file.Files.isDirectory(other));
    }
    try (var listed = java.nio.file.Files.list(work)) {
      assertEquals(java.util.Set.of(work.resolve("notes.txt"), other), java.util.Set.copyOf(listed.toList()),
          "each run removes its own directory");
    }
  }

  @Test
  void restoreListed_aNarGoneFromTheCatalogAfterTheListWasChecked_failsAndTheRunGoesOn() throws Exception {
    placeApart();
    Path list = dir.resolve("paths.txt");
    java.nio.file.Files.writeString(list, String.join("\n", manifest.nars().stream()
        .map(n -> n.parsedNarInfo().storePath().toString()).toList()) + "\n");
    // At the first object's HEAD, the catalog loses the other two (a catalog rebuilt meanwhile).
    s3.afterStat = k -> {
      s3.afterStat = any -> {};
      try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("catalog.db"));
          java.sql.PreparedStatement ps = c.prepareStatement("DELETE FROM nars WHERE file_key <> ?")) {
        ps.setString(1, k);
        ps.executeUpdate();
      } catch (java.sql.SQLException e) {
        throw new AssertionError(e);
      }
    };
    Restoration.Result r = new Restoration(new Restoration.Config(Optional.of(list), "cache", Optional.empty(),
        dir.resolve("restore")), catalog, new Archive(catalog, new HolderClient(Duration.ofSeconds(1)),
        Optional.empty()), s3, new java.io.PrintStream(OutputStream.nullOutputStream()),
        new java.io.PrintStream(OutputStream.nullOutputStream()), clock).run();
    assertEquals(3, r.selected());
    assertEquals(1, r.found(), "the one still there was found in the bucket and journalled");
    assertEquals(2, r.failed(), r.failures().toString());
    assertTrue(r.failures().getFirst().contains("no longer has a NAR"), r.failures().toString());
  }

  private List<Journal.State> states() throws Exception {
    List<Journal.State> states = new ArrayList<>();
    for (Manifest.Nar nar : manifest.nars()) {
      states.add(catalog.journal().state(nar.parsedNarInfo().storePath().hashPart()).orElseThrow());
    }
    return states;
  }

  @Test
  void drainPending_safePack_deletesVerifiedObjects() throws Exception {
    placeApart();
    verifyAll();
    clock.advance(HOUR / 2);
    Drainer drainer = drainer(POLICY);
    assertEquals(new Drainer.Safety(packId, 8, 6), drainer.safetyNow(packId));
    drainer.drainPending();
    assertTrue(s3.objects.isEmpty(), "every object deleted");
    assertEquals(List.of(Journal.State.DRAINED, Journal.State.DRAINED, Journal.State.DRAINED), states());
    assertEquals(new Drainer.Result(3, manifest.nars().stream().mapToLong(Manifest.Nar::length).sum(), 0),
        drainer.result());
  }

  @Test
  void drainPending_moving_deletesAForgottenObject_withoutCopyingIt() throws Exception {
    placeApart();
    verifyAll();
    clock.advance(HOUR / 2);
    // narvault forget recorded the first NAR, and was stopped before deleting its object.
    Manifest.Nar gone = manifest.nars().get(0);
    ArchivedNarFixture.forget(catalog, catalog.narByFileKey(gone.key()).orElseThrow());
    s3.copiesAllowed = true;
    Archive archive = new Archive(catalog, new HolderClient(Duration.ofSeconds(1)), Optional.empty());
    Drainer drainer = new Drainer(catalog, archive, s3, new DrainConfig(DrainConfig.Mode.MOVE, Optional.of("cold"),
        Optional.empty(), -1, Optional.of(dev.narvault.core.nix.TrustedKeys.of(dev.narvault.core.nix.NixSecretKey
            .generate("test-archive-1", new java.security.SecureRandom()).publicKey()))),
        POLICY, (endpoint, fragmentId, length) -> true, clock);
    drainer.drainPending();
    assertTrue(s3.objects.isEmpty(), "every object deleted");
    assertEquals(List.of(manifest.nars().get(1).key(), manifest.nars().get(2).key()).stream().sorted().toList(),
        s3.copied.stream().sorted().toList(), "the forgotten one is not copied to the cold bucket");
  }

  /** A forgotten path, as narvault forget records it. */
  static final class ArchivedNarFixture {
    static void forget(Catalog catalog, dev.narvault.core.catalog.ArchivedNar nar) throws Exception {
      catalog.forgotten().record(new dev.narvault.core.pack.SignedTombstone.Tombstone(
          dev.narvault.core.pack.SignedTombstone.Tombstone.FORMAT, nar.storeHash(), nar.fileKey(), nar.fileHash(),
          "sha256:n", nar.packId().hex(), "test", 1), new Catalog.DocumentCopies("d", List.of()), "{}",
          dev.narvault.core.catalog.Forgotten.S3Objects.PENDING);
    }
  }

  @Test
  void drainPending_anObjectRestoredWhileTheDrainRuns_isNotDeleted() throws Exception {
    placeApart();
    verifyAll();
    clock.advance(HOUR / 2);
    // While the drain judges the first object's pack (its page read: all verified), restore
    // records the second one as put back into this bucket, having found it there.
    String restored = manifest.nars().stream().map(Manifest.Nar::key).sorted().toList().get(1);
    onProbe = () -> {
      try {
        recordRestored(restored, "cache");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    };
    drainer(POLICY).drainPending();
    assertEquals(java.util.Set.of(restored), s3.objects.keySet(), "the restored object stays, the others go");
    assertTrue(catalog.journal().isRestoredIn(restored, "cache"));
  }

  @Test
  void drainPending_verifiedEntryWhosePackDegradedSince_isNotDeleted_andIsCommittedAgain() throws Exception {
    placeApart();
    verifyAll();
    // A week later: three holders went silent; the other five still heartbeat and answer.
    clock.advance(Duration.ofDays(7).toMillis());
    for (int i = 0; i < 5; i++) {
      alive("h" + i);
    }
    Drainer drainer = drainer(POLICY);
    assertEquals(new Drainer.Safety(packId, 5, 6), drainer.safetyNow(packId));
    drainer.drainPending();
    assertEquals(3, s3.objects.size(), "the S3 copies stay");
    assertEquals(List.of(Journal.State.COMMITTED, Journal.State.COMMITTED, Journal.State.COMMITTED), states(),
        "to be read back again before any delete");
    assertEquals(new Drainer.Result(0, 0, 0), drainer.result());
  }

  @Test
  void safetyNow_fragmentsAllInOneWiderNetwork_countOnlyHalfTheParity() throws Exception {
    List<String> addresses = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      addresses.add("10.1." + (i + 1) + ".1");
    }
    placeOn(addresses);
    assertEquals(new Drainer.Safety(packId, 2, 6), drainer(POLICY).safetyNow(packId), "floor(m/2) of one /16");
    verifyAll();
    drainer(POLICY).drainPending();
    assertEquals(3, s3.objects.size());
    // The coordinator's limits, not a constant: allowing all eight in one /16 makes it safe.
    assertEquals(new Drainer.Safety(packId, 8, 6),
        drainer(new CoordinatorMessages.Policy(HOUR, 1, 8, -1)).safetyNow(packId));
  }

  @Test
  void safetyNow_fragmentsInOneNetwork_countOnce() throws Exception {
    List<String> addresses = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      addresses.add("10.1.1." + (i + 1));
    }
    placeOn(addresses);
    assertEquals(new Drainer.Safety(packId, 1, 6), drainer(POLICY).safetyNow(packId));
  }

  @Test
  void safetyNow_holderThatHeartbeatsButIsNotReached_doesNotCount() throws Exception {
    placeApart();
    clock.advance(2 * HOUR);
    for (int i = 0; i < 8; i++) {
      catalog.recordHeartbeat(new HolderId("h" + i), 0, 1, "v", clock.millis(), clock.millis());
    }
    for (int i = 0; i < 5; i++) {
      catalog.registry().recordContact(new HolderId("h" + i), true, clock.millis());
    }
    assertEquals(new Drainer.Safety(packId, 5, 6), drainer(POLICY).safetyNow(packId),
        "three holders heartbeat but the coordinator has not reached them for two hours");
    catalog.registry().recordContact(new HolderId("h5"), true, clock.millis());
    assertTrue(drainer(POLICY).safetyNow(packId).safe());
  }

  @Test
  void safetyNow_livenessWindowIsTheCoordinators() throws Exception {
    placeApart();
    clock.advance(2 * HOUR);
    assertEquals(0, drainer(POLICY).safetyNow(packId).counted());
    assertEquals(8, drainer(new CoordinatorMessages.Policy(3 * HOUR, -1, -1, -1)).safetyNow(packId).counted());
  }

  @Test
  void safetyNow_disqualifiedHolders_doNotCount() throws Exception {
    placeApart();
    for (String h : List.of("h0", "h1", "h2")) {
      // Failed audits of a fragment it does not hold here: its rows of this pack stay stored.
      while (!catalog.holder(new HolderId(h)).orElseThrow().disqualified()) {
        catalog.recordAudit(new HolderId(h), "f".repeat(64), false, "wrong bytes", clock.millis());
      }
    }
    assertEquals(new Drainer.Safety(packId, 5, 6), drainer(POLICY).safetyNow(packId));
  }

  @Test
  void safetyNow_suspectOrLeavingHolders_doNotCount() throws Exception {
    placeApart();
    while (!catalog.holder(new HolderId("h0")).orElseThrow().suspect()) {
      catalog.recordAudit(new HolderId("h0"), "f".repeat(64), false, "wrong bytes", clock.millis());
    }
    catalog.custody().markExiting(new HolderId("h1"));
    catalog.custody().markExiting(new HolderId("h2"));
    assertFalse(catalog.holder(new HolderId("h0")).orElseThrow().disqualified());
    assertEquals(new Drainer.Safety(packId, 5, 6), drainer(POLICY).safetyNow(packId));
  }

  @Test
  void drainPending_committedEntryOfAnUnsafePack_isLeftWithoutReadingBack() throws Exception {
    placeApart();
    clock.advance(2 * HOUR);
    Drainer drainer = drainer(POLICY);
    drainer.drainPending();
    assertEquals(3, s3.objects.size());
    assertEquals(List.of(Journal.State.COMMITTED, Journal.State.COMMITTED, Journal.State.COMMITTED), states());
    assertEquals(new Drainer.Result(0, 0, 0), drainer.result(), "not a failure: no holder was asked");
  }

  @Test
  void safetyNow_fragmentsTheirHoldersNoLongerHave_doNotCount_thoughTheHoldersAnswerProofs() throws Exception {
    placeApart();
    verifyAll();
    // Three holders heartbeat and answer every proof, and quietly deleted their fragments.
    for (int i = 0; i < 3; i++) {
      lostFragments.add(manifest.fragments().get(i).id().hex());
    }
    Drainer drainer = drainer(POLICY);
    assertEquals(new Drainer.Safety(packId, 5, 6), drainer.safetyNow(packId));
    drainer.drainPending();
    assertEquals(3, s3.objects.size(), "the S3 copies stay");
    assertEquals(List.of(Journal.State.COMMITTED, Journal.State.COMMITTED, Journal.State.COMMITTED), states());
  }

  @Test
  void safetyNow_probesEachFragmentOnceWhileItsAnswerStands_thenAgain() throws Exception {
    placeApart();
    verifyAll();
    Drainer drainer = drainer(POLICY);
    drainer.drainPending();
    assertTrue(s3.objects.isEmpty());
    assertEquals(8, probes.get(), "three objects of one pack: each of its 8 fragments asked once");
    assertTrue(drainer.safetyNow(packId).safe());
    assertEquals(8, probes.get());
    // A fragment lost since it answered counts until its answer is too old, then not.
    lostFragments.add(manifest.fragments().get(0).id().hex());
    clock.advance(Drainer.PROBE_VALID_MILLIS + 1);
    for (int i = 0; i < 8; i++) {
      alive("h" + i);
    }
    assertEquals(new Drainer.Safety(packId, 7, 6), drainer.safetyNow(packId));
    assertEquals(16, probes.get());
  }

  @Test
  void safetyNow_truncatedFragments_doNotCount_andProbesGoToTheProvenAddress() throws Exception {
    // Holder h0 advertises a name; it was proven at 10.1.0.1. The probe must not follow the name.
    List<HolderId> holders = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      HolderId id = new HolderId("h" + i);
      String address = "10." + (i + 1) + ".0.1";
      String endpoint = i == 0 ? "http://holder0.example:7070" : "http://" + address + ":7070";
      catalog.registerHolder(HolderRecord.registering(id, endpoint, "k:" + id, 1L << 30, 0, 0, "v", "", "",
          clock.millis(), address), clock.millis());
      holders.add(id);
    }
    catalog.recordPack(packId, manifest, "{}", holders, clock.millis());
    verifyAll();
    // Three holders keep a fragment shorter than the manifest's (cut off by a full disk, say).
    for (int i = 1; i < 4; i++) {
      truncated.add(manifest.fragments().get(i).id().hex());
    }
    Drainer drainer = drainer(POLICY);
    assertEquals(new Drainer.Safety(packId, 5, 6), drainer.safetyNow(packId));
    assertTrue(probedAt.contains("http://10.1.0.1:7070"), probedAt.toString());
    assertTrue(probedAt.stream().noneMatch(e -> e.contains("holder0.example")), probedAt.toString());
    drainer.drainPending();
    assertEquals(3, s3.objects.size(), "the S3 copies stay");
  }

  @Test
  void safetyNow_fragmentsOnAHolderThatDeclaredAnAbsence_doNotCount() throws Exception {
    placeApart();
    verifyAll();
    // Holders h0 and h1 said they will be away: the drain does not lean on what they keep.
    catalog.registry().declareAway(new HolderId("h0"), clock.millis() + 3_600_000, clock.millis());
    catalog.registry().declareAway(new HolderId("h1"), clock.millis() + 3_600_000, clock.millis());
    Drainer drainer = drainer(POLICY);
    assertEquals(new Drainer.Safety(packId, 6, 6), drainer.safetyNow(packId));
    catalog.registry().declareAway(new HolderId("h2"), clock.millis() + 3_600_000, clock.millis());
    assertEquals(new Drainer.Safety(packId, 5, 6), drainer.safetyNow(packId));
    drainer.drainPending();
    assertEquals(3, s3.objects.size(), "the S3 copies stay");
  }
}
