package dev.narvault.core.nix;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Serialises a file-system tree into the NAR format ({@code nix-archive-1}), streaming file
 * contents. Every token is a string: a little-endian u64 length, the bytes, zero padding to a
 * multiple of 8.
 */
public final class NarWriter {
  private static final byte[] PADDING = new byte[8];

  private final OutputStream out;
  private final byte[] lengthBuf = new byte[8];

  private NarWriter(OutputStream out) {
    this.out = out;
  }

  /** Writes {@code root} as a NAR to {@code out}; does not close {@code out}. */
  public static void write(NarNode root, OutputStream out) throws IOException {
    NarWriter w = new NarWriter(out);
    w.str("nix-archive-1");
    w.node(root);
  }

  /** Reads {@code path} (not following a symlink at the root) into a NAR node tree. */
  public static NarNode fromPath(Path path) throws IOException {
    if (Files.isSymbolicLink(path)) {
      return new NarNode.Symlink(Files.readSymbolicLink(path).toString());
    }
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      Map<String, NarNode> entries = new TreeMap<>();
      try (Stream<Path> children = Files.list(path)) {
        for (Path child : (Iterable<Path>) children::iterator) {
          entries.put(child.getFileName().toString(), fromPath(child));
        }
      }
      return NarNode.directory(entries);
    }
    if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
      return new NarNode.Regular(Files.isExecutable(path), Files.size(path),
          () -> Files.newInputStream(path));
    }
    throw new IOException("cannot put " + path + " into a NAR: not a file, directory or symlink");
  }

  private void node(NarNode node) throws IOException {
    str("(");
    switch (node) {
      case NarNode.Regular f -> {
        str("type");
        str("regular");
        if (f.executable()) {
          str("executable");
          str("");
        }
        str("contents");
        contents(f);
      }
      case NarNode.Symlink s -> {
        str("type");
        str("symlink");
        str("target");
        str(s.target());
      }
      case NarNode.Directory d -> {
        str("type");
        str("directory");
        for (Map.Entry<String, NarNode> e : d.entries().entrySet()) {
          str("entry");
          str("(");
          str("name");
          str(e.getKey());
          str("node");
          node(e.getValue());
          str(")");
        }
      }
    }
    str(")");
  }

  private void contents(NarNode.Regular f) throws IOException {
    length(f.size());
    long copied;
    try (InputStream in = f.contents().open()) {
      copied = in.transferTo(new BoundedOutput(out, f.size()));
    }
    if (copied != f.size()) {
      throw new IOException("file said to have " + f.size() + " bytes produced " + copied);
    }
    pad(f.size());
  }

  private void str(String s) throws IOException {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    length(bytes.length);
    out.write(bytes);
    pad(bytes.length);
  }

  private void length(long n) throws IOException {
    for (int i = 0; i < 8; i++) {
      lengthBuf[i] = (byte) (n >>> (8 * i));
    }
    out.write(lengthBuf);
  }

  private void pad(long n) throws IOException {
    int rem = (int) (n % 8);
    if (rem != 0) {
      out.write(PADDING, 0, 8 - rem);
    }
  }

  /** Refuses to write more than the declared file size, so a growing file cannot corrupt the NAR. */
  private static final class BoundedOutput extends OutputStream {
    private final OutputStream out;
    private long remaining;

    BoundedOutput(OutputStream out, long limit) {
      this.out = out;
      this.remaining = limit;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (len > remaining) {
        throw new IOException("file grew beyond its declared size while being archived");
      }
      out.write(b, off, len);
      remaining -= len;
    }
  }
}
