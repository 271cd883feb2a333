package dev.narvault.core.s3;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * An object being read, with what the store said about it.
 *
 * @param length bytes the stream will give (of the range, when one was asked for and served)
 * @param contentType the object's stored {@code Content-Type}
 * @param contentEncoding its stored {@code Content-Encoding} (Nix stores {@code .ls} files and build
 *     logs brotli-encoded)
 * @param contentRange {@code bytes first-last/total} when the store served a range
 */
public record OpenedObject(InputStream stream, long length, Optional<String> contentType,
    Optional<String> contentEncoding, Optional<String> contentRange) implements Closeable {
  public OpenedObject(InputStream stream, long length) {
    this(stream, length, Optional.empty(), Optional.empty(), Optional.empty());
  }

  @Override
  public void close() throws IOException {
    stream.close();
  }
}
