package dev.narvault.core.s3;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;

/** An object being read, with its length as the store reported it. */
public record OpenedObject(InputStream stream, long length) implements Closeable {
  @Override
  public void close() throws IOException {
    stream.close();
  }
}
