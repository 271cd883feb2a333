package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One archived NAR object put back into a bucket as the exact object it was, for {@code promote}
 * and {@code restore}:
 *
 * <ol>
 *   <li>if the journal records it as put back into this bucket already, nothing is done;
 *   <li>if the bucket has an object under its key ({@code HEAD}) of its size, that one stays
 *       (an object of another size is refused: it is not ours to overwrite);
 *   <li>otherwise it is read through the holders into a file in {@code workDir}, checked against
 *       its narinfo ({@link VerifiedRead}), put under its own key (in a storage class if one is
 *       given), and its size there checked;
 *   <li>the journal records it as {@link dev.narvault.core.catalog.Journal.State#RESTORED} in this
 *       bucket, every store path naming it.
 * </ol>
 *
 * Each step may be repeated: killed between the upload and the journal, the next run finds the
 * object in the bucket and only journals it. A read that does not verify puts nothing. A forgotten
 * object ({@code narvault forget}) is refused before step 3 and, if it was forgotten during the
 * upload, deleted again after it (the takedown may have deleted its key before the upload).
 */
final class PutBack implements AutoCloseable {
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
  private final Path workDir;
  private final InstantSource clock;
  private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();

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
    this.workDir = Files.createDirectories(workDir);
    this.clock = clock;
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
    if (done(nar)) {
      return Outcome.DONE_BEFORE;
    }
    Outcome outcome;
    if (present(nar)) {
      outcome = Outcome.FOUND;
    } else {
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
    catalog.journal().restored(nar.fileKey(), bucket, clock.millis());
    return outcome;
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
    Path file = Files.createTempFile(workDir, "put-back-", ".nar");
    try {
      try (OutputStream copy = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
        VerifiedRead.into(archive, nar, readers, copy);
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
  }
}
