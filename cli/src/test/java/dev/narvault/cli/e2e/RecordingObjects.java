package dev.narvault.cli.e2e;

import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.s3.StoredObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The bucket as a migrate run sees it, forwarded to the real one, recording how the run lists it
 * (where each top-level listing starts, the keys it is handed) and how often it asks for an
 * object's age (HEAD); it can fail the reading of one object, as a worker's crash would stop it.
 */
final class RecordingObjects implements ObjectSource {
  private final ObjectSource delegate;
  final List<String> listedAfter = new CopyOnWriteArrayList<>();
  final List<String> listed = new CopyOnWriteArrayList<>();
  final AtomicInteger stats = new AtomicInteger();
  /** Every key opened or asked about (HEAD), in order. */
  final List<String> asked = new CopyOnWriteArrayList<>();
  /** The keys of files put, in order. */
  final List<String> puts = new CopyOnWriteArrayList<>();
  /** Runs after each file is put: a test's crash. */
  volatile Runnable afterPut = () -> {};
  /** Runs before each file is put: what another process does meanwhile. */
  volatile java.util.function.Consumer<String> beforePut = key -> {};
  /** Runs before each copy to another bucket: what another process does meanwhile. */
  volatile java.util.function.Consumer<String> beforeCopy = key -> {};
  private volatile Optional<String> failOpening = Optional.empty();
  private volatile Optional<String> failDeleting = Optional.empty();
  /** Opening another bucket of the store fails while set (a store unreachable for backstops). */
  volatile boolean failOtherBuckets;

  RecordingObjects(ObjectSource delegate) {
    this.delegate = delegate;
  }

  /** Reading the object at {@code key} fails from now on. */
  RecordingObjects failOpening(String key) {
    failOpening = Optional.of(key);
    return this;
  }

  /** Deleting the object at {@code key} fails from now on (empty: no more). */
  RecordingObjects failDeleting(Optional<String> key) {
    failDeleting = key;
    return this;
  }

  @Override
  public void list(String prefix, Consumer<StoredObject> each) throws IOException {
    delegate.list(prefix, each);
  }

  @Override
  public void listTopLevel(String startAfter, Predicate<StoredObject> each) throws IOException {
    listedAfter.add(startAfter);
    delegate.listTopLevel(startAfter, o -> {
      listed.add(o.key());
      return each.test(o);
    });
  }

  @Override
  public String location() {
    return delegate.location();
  }

  @Override
  public String bucket() {
    return delegate.bucket();
  }

  @Override
  public OpenedObject openObject(String key, Optional<String> range) throws IOException {
    asked.add(key);
    if (failOpening.filter(key::equals).isPresent()) {
      throw new IOException("injected: the worker stops while reading " + key);
    }
    return delegate.openObject(key, range);
  }

  @Override
  public StoredObject stat(String key) throws IOException {
    stats.incrementAndGet();
    asked.add(key);
    return delegate.stat(key);
  }

  @Override
  public void put(String key, byte[] bytes, String contentType) throws IOException {
    delegate.put(key, bytes, contentType);
  }

  @Override
  public void put(String key, Path file, String contentType) throws IOException {
    put(key, file, contentType, Optional.empty());
  }

  @Override
  public void put(String key, Path file, String contentType, Optional<String> storageClass) throws IOException {
    beforePut.accept(key);
    delegate.put(key, file, contentType, storageClass);
    puts.add(key);
    afterPut.run();
  }

  @Override
  public void delete(String key) throws IOException {
    if (failDeleting.filter(key::equals).isPresent()) {
      throw new IOException("injected: S3 fails deleting " + key);
    }
    delegate.delete(key);
  }

  @Override
  public void copyTo(String key, String bucket, Optional<String> storageClass) throws IOException {
    beforeCopy.accept(key);
    delegate.copyTo(key, bucket, storageClass);
  }

  @Override
  public ObjectSource inBucket(String bucket) throws IOException {
    if (failOtherBuckets) {
      throw new IOException("bucket " + bucket + " cannot be reached (test)");
    }
    return delegate.inBucket(bucket);
  }

  @Override
  public void close() {
    // The cluster closes the real bucket.
  }
}
