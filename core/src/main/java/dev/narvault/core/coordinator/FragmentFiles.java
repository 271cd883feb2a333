package dev.narvault.core.coordinator;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Fragments waiting in local files to be placed: written through {@link #outputs()}, finished
 * with {@link #finish()}, and deleted, whatever happened, by {@link #close()}. Used by migrate
 * (freshly encoded fragments) and repair (rebuilt ones).
 */
public final class FragmentFiles implements AutoCloseable {
  private final List<Path> files = new ArrayList<>();
  private final List<OutputStream> outputs = new ArrayList<>();

  /** Creates {@code count} empty files in {@code dir}, named {@code prefix…}. */
  public FragmentFiles(Path dir, String prefix, int count) throws IOException {
    Files.createDirectories(dir);
    try {
      for (int i = 0; i < count; i++) {
        Path f = Files.createTempFile(dir, prefix + i + "-", ".fragment");
        files.add(f);
        outputs.add(new BufferedOutputStream(Files.newOutputStream(f), 1 << 16));
      }
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  public List<OutputStream> outputs() {
    return List.copyOf(outputs);
  }

  public List<Path> files() {
    return List.copyOf(files);
  }

  /** Flushes and closes every output: the files are complete. */
  public void finish() throws IOException {
    for (OutputStream o : outputs) {
      o.close();
    }
  }

  /** Closes what is open and deletes every file. */
  @Override
  public void close() throws IOException {
    for (OutputStream o : outputs) {
      try {
        o.close();
      } catch (IOException ignored) {
        // failing already: the file is deleted next
      }
    }
    for (Path f : files) {
      Files.deleteIfExists(f);
    }
  }
}
