package dev.narvault.core.pack;

import java.io.IOException;

/**
 * Where {@link PackFiller} puts a byte range of a pack: any part of it, in any order, from several
 * threads at once, each byte once and only after it was verified. What was written can be read
 * back (to decode other fragments from it without asking its holder again). A file is the
 * natural one: it is the reorder buffer that lets every fragment be read at once while memory
 * stays bounded.
 */
public interface RangeFile {
  /** Writes {@code length} bytes of {@code bytes} at {@code offset} at {@code position} of the range. */
  void write(long position, byte[] bytes, int offset, int length) throws IOException;

  /** Reads back {@code length} bytes written earlier at {@code position} into {@code into} at {@code offset}. */
  void read(long position, byte[] into, int offset, int length) throws IOException;
}
