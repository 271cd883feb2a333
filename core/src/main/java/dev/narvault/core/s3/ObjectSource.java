package dev.narvault.core.s3;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** The binary cache's object store: list, read, write and delete objects by key. */
public interface ObjectSource extends AutoCloseable {
  /** Calls {@code each} for every object whose key starts with {@code prefix}, in key order. */
  void list(String prefix, Consumer<StoredObject> each) throws IOException;

  /**
   * Calls {@code each}, in key order, for the objects at the top of the store (no {@code /} in
   * their key) whose key sorts after {@code startAfter} ({@code ""}: from the first), until it
   * answers false. Objects below a {@code /}, such as a binary cache's {@code nar/…}, are not
   * listed at all: S3 folds them into one common prefix each ({@code Delimiter=/}), so listing a
   * cache's narinfos costs a request per 1 000 narinfos whatever the NARs.
   */
  void listTopLevel(String startAfter, Predicate<StoredObject> each) throws IOException;

  /**
   * Where these objects are, e.g. {@code s3://cache}: for messages, and to tell one store's
   * listing checkpoints from another's.
   */
  String location();

  /**
   * Opens an object for reading; the caller closes the stream.
   *
   * @throws ObjectNotFoundException when there is no such key
   */
  default InputStream open(String key) throws IOException {
    return openObject(key).stream();
  }

  /**
   * Opens an object for reading, with its length; the caller closes it.
   *
   * @throws ObjectNotFoundException when there is no such key
   */
  default OpenedObject openObject(String key) throws IOException {
    return openObject(key, java.util.Optional.empty());
  }

  /**
   * Opens an object, or one byte range of it ({@code range} is an HTTP {@code Range} value such as
   * {@code bytes=0-99}; the store may serve the whole object instead, which {@link
   * OpenedObject#contentRange()} tells). The caller closes it. A store that refuses access (403)
   * or fails (5xx) is trouble, an {@link IOException}, never "not found".
   *
   * @throws ObjectNotFoundException when there is no such key
   * @throws RangeNotSatisfiableException when the range lies outside the object
   */
  OpenedObject openObject(String key, java.util.Optional<String> range) throws IOException;

  /**
   * An object's size and last modification, without reading it.
   *
   * @throws ObjectNotFoundException when there is no such key
   */
  StoredObject stat(String key) throws IOException;

  /** The length of an object without reading it. */
  default long size(String key) throws IOException {
    return stat(key).size();
  }

  /** Reads a small object whole (narinfos); refuses objects over {@code maxBytes}. */
  default byte[] readSmall(String key, int maxBytes) throws IOException {
    try (InputStream in = open(key)) {
      byte[] bytes = in.readNBytes(maxBytes + 1);
      if (bytes.length > maxBytes) {
        throw new IOException("object " + key + " is larger than " + maxBytes + " bytes");
      }
      return bytes;
    }
  }

  void put(String key, byte[] bytes, String contentType) throws IOException;

  void put(String key, Path file, String contentType) throws IOException;

  /**
   * Puts a file, optionally in a storage class (e.g. {@code STANDARD_IA}). A store without
   * storage classes refuses one rather than ignore it.
   */
  default void put(String key, Path file, String contentType, java.util.Optional<String> storageClass)
      throws IOException {
    if (storageClass.isPresent()) {
      throw new IllegalArgumentException(location() + " has no storage classes, asked for " + storageClass.get());
    }
    put(key, file, contentType);
  }

  /** Deletes an object; deleting one that is not there is not an error (S3's own rule). */
  void delete(String key) throws IOException;

  /**
   * Copies an object into another bucket of the same store under the same key, optionally in a
   * storage class (e.g. {@code DEEP_ARCHIVE}): the cheaper tier a drain may move NARs to.
   *
   * @throws ObjectNotFoundException when there is no such key
   */
  void copyTo(String key, String bucket, java.util.Optional<String> storageClass) throws IOException;

  @Override
  void close();
}
