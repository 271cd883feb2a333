package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One archived NAR object put back into a bucket as the exact object it was, for {@code promote}
 * and {@code restore}:
 *
 * <ol>
 *   <li>the object is claimed ({@link dev.narvault.core.catalog.Journal#claimObject}), as the
 *       drain claims it before it deletes: the steps below and a drain's check, delete and
 *       journal never overlap (an object a drain holds right now fails, and the next run retries);
 *   <li>if the journal records it as put back into this bucket already and the bucket has it
 *       ({@code HEAD}), nothing is done; if the bucket lacks it, it is uploaded again as below;
 *   <li>if the bucket has an object under its key ({@code HEAD}) of its size, that one stays
 *       (an object of another size is refused: it is not ours to overwrite);
 *   <li>otherwise it is read through the holders into a file in {@code workDir}, checked against
 *       its narinfo ({@link VerifiedRead}), put under its own key (in a storage class if one is
 *       given), and its size there checked;
 *   <li>the journal records it as {@link dev.narvault.core.catalog.Journal.State#RESTORED} in this
 *       bucket, every store path naming it, if the claim is still this put-back's.
 * </ol>
 *
 * Each step may be repeated: killed between the upload and the journal, the next run finds the
 * object in the bucket and only journals it. A read that does not verify puts nothing. A forgotten
 * object ({@code narvault forget}) is refused before step 3 and, if it was forgotten during the
 * upload, deleted again after it (the takedown may have deleted its key before the upload). The
 * files being uploaded are in a directory of this run's in {@code workDir}, locked while it runs;
 * one a killed run left (its lock gone with its process) is removed when the next one starts.
 */
final class PutBack implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PutBack.class);
  static final String NAR_TYPE = "application/x-nix-nar";

  /** What putting one object back did. */
  enum Outcome {
    /** The journal had it put back into this bucket already. */
    DONE_BEFORE,
    /** The bucket had it (its key, its size): journalled, nothing uploaded. */
    FOUND,
    /** Read through the holders, verified and uploaded. */
    UPLOADED
  }

  private final Catalog catalog;
  private final Archive archive;
  private final ObjectSource to;
  private final String bucket;
  private final Optional<String> storageClass;
  private final InstantSource clock;
  private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
  /** Who this put-back is in the object claims it shares with the drain. */
  private final String claimer = "put-back-" + java.util.UUID.randomUUID();
  /** This run's files, and the lock that tells a live run's directory from a killed one's. */
  private final Path runDir;
  private final FileChannel lockChannel;
  private final FileLock lock;

  /**
   * How long a claim lasts: reading and uploading one object must fit (it is extended before the
   * upload, and checked when the journal records it). Only a killed put-back keeps a drain waiting
   * this long.
   */
  static final long CLAIM_MILLIS = java.time.Duration.ofHours(1).toMillis();
  static final String RUN_PREFIX = "put-back-run-";

  /**
   * @param to the bucket the objects go back into
   * @param bucket its name, as the journal records it
   * @param storageClass the storage class of uploaded objects (empty: the bucket's default)
   * @param workDir where each object is kept while it is checked and uploaded
   */
  PutBack(Catalog catalog, Archive archive, ObjectSource to, String bucket, Optional<String> storageClass,
      Path workDir, InstantSource clock) throws IOException {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("a bucket name is required, got '" + bucket + "'");
    }
    this.catalog = catalog;
    this.archive = archive;
    this.to = to;
    this.bucket = bucket;
    this.storageClass = storageClass;
    this.clock = clock;
    removeStale(Files.createDirectories(workDir));
    this.runDir = Files.createDirectory(workDir.resolve(RUN_PREFIX + claimer.substring("put-back-".length())));
    this.lockChannel = FileChannel.open(runDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    this.lock = lockChannel.lock();
  }

  /**
   * Removes what killed put-backs left in {@code workDir}: their run directories whose lock nobody
   * holds (a process's locks go with it) and the files in them this class makes; and files of the
   * same pattern an older version left in {@code workDir} itself. Nothing else is touched.
   */
  static void removeStale(Path workDir) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(workDir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) && name.startsWith(RUN_PREFIX)) {
          removeIfAbandoned(entry);
        } else if (isOurs(entry)) {
          Files.deleteIfExists(entry);
        }
      }
    }
  }

  private static boolean isOurs(Path file) {
    String name = file.getFileName().toString();
    return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && name.startsWith("put-back-") && name.endsWith(".nar");
  }

  private static void removeIfAbandoned(Path dir) throws IOException {
    Path lockFile = dir.resolve(".lock");
    if (Files.exists(lockFile)) {
      try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE);
          FileLock held = channel.tryLock()) {
        if (held == null) {
          return; // a live run's
        }
      } catch (java.nio.channels.OverlappingFileLockException liveInThisProcess) {
        return;
      }
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path file : files) {
        if (isOurs(file)) {
          Files.deleteIfExists(file);
        }
      }
    }
    Files.deleteIfExists(lockFile);
    try {
      Files.deleteIfExists(dir);
    } catch (java.nio.file.DirectoryNotEmptyException notOnlyOurs) {
      // Something else is in it: left alone.
    }
  }

  String bucket() {
    return bucket;
  }

  /** Whether the journal has {@code nar}'s object put back into this bucket. */
  boolean done(ArchivedNar nar) throws IOException {
    return catalog.journal().isRestoredIn(nar.fileKey(), bucket);
  }

  Outcome putBack(ArchivedNar nar) throws IOException {
    if (catalog.forgotten().isForgottenObject(nar.fileKey())) {
      // Callers skip forgotten NARs; this is the last guard that a takedown is never undone.
      throw new IOException(nar.fileKey() + " is forgotten (narvault forget): it is never put back");
    }
    long now = clock.millis();
    if (!catalog.journal().claimObject(nar.fileKey(), claimer, now, now + CLAIM_MILLIS)) {
      throw new IOException("another worker holds it right now (a drain deleting it, or another put-back); "
          + "the next run tries again");
    }
    try {
      boolean recorded = done(nar);
      Outcome outcome;
      if (present(nar)) {
        if (recorded) {
          return Outcome.DONE_BEFORE;
        }
        outcome = Outcome.FOUND;
      } else {
        if (recorded) {
          LOG.warn("{} is journalled as put back into {} but is not there: putting it back again", nar.fileKey(), bucket);
        }
        upload(nar);
        outcome = Outcome.UPLOADED;
        // Forgotten while it was read and uploaded (the check above is seconds old): the takedown
        // may have deleted the key before the upload put it there, so what was put goes again.
        if (catalog.forgotten().isForgottenObject(nar.fileKey())) {
          to.delete(nar.fileKey());
          throw new IOException(nar.fileKey() + " was forgotten (narvault forget) while it was put back into "
              + to.location() + "; the object put is deleted again");
        }
      }
      catalog.journal().restored(nar.fileKey(), bucket, claimer, clock.millis());
      return outcome;
    } finally {
      catalog.journal().releaseObjects(claimer, List.of(nar.fileKey()));
    }
  }

  /** Whether the bucket has the object already; an object of another size under its key is refused. */
  private boolean present(ArchivedNar nar) throws IOException {
    long size;
    try {
      size = to.stat(nar.fileKey()).size();
    } catch (ObjectNotFoundException absent) {
      return false;
    }
    if (size != nar.length()) {
      throw new IOException(to.location() + " has " + size + " bytes under " + nar.fileKey() + ", archived "
          + nar.length() + ": not overwriting an object that is not this one");
    }
    return true;
  }

  private void upload(ArchivedNar nar) throws IOException {
    Path file = Files.createTempFile(runDir, "put-back-", ".nar");
    try {
      try (OutputStream copy = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
        VerifiedRead.into(archive, nar, readers, copy);
      }
      // Reading may have taken long: the claim must outlast the upload, and must still be ours.
      if (!catalog.journal().stillHolds(nar.fileKey(), claimer, clock.millis() + CLAIM_MILLIS)) {
        throw new IOException("its claim lapsed while it was read and another worker took it; the next run "
            + "tries again");
      }
      // Only a file that verified whole is put: a read that failed or did not match threw above.
      to.put(nar.fileKey(), file, NAR_TYPE, storageClass);
      long size = to.stat(nar.fileKey()).size();
      if (size != nar.length()) {
        throw new IOException(to.location() + " has " + size + " bytes under " + nar.fileKey()
            + " after the upload, not " + nar.length());
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Override
  public void close() {
    readers.shutdownNow();
    try (lockChannel) {
      lock.release();
      Files.deleteIfExists(runDir.resolve(".lock"));
      Files.deleteIfExists(runDir);
    } catch (IOException e) {
      LOG.warn("could not remove {}: {}", runDir, e.toString());
    }
  }
}
