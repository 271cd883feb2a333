package dev.narvault.encoder.input;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.zip.GZIPInputStream;

/**
 * narinfo keys from files instead of a listing of the bucket ({@code migrate --keys-from}):
 *
 * <ul>
 *   <li>a <b>key list</b>: one S3 key per line (or the key as the last field of a line, as
 *       {@code aws s3 ls} prints it); the {@code <hash>.narinfo} keys are taken, other keys
 *       ({@code nar/…}, {@code nix-cache-info}) are passed over; blank lines and {@code #}
 *       comments are skipped. Gzip-compressed when it starts with gzip's magic bytes.
 *   <li>an <b>S3 Inventory manifest</b> ({@code manifest.json}, told apart by its opening
 *       {@code {}): its CSV files are read in the manifest's order ({@link InventoryManifest}
 *       says where they are looked for on disk). Keys are URL-decoded, as S3 writes them in CSV;
 *       delete markers and older versions (when the schema has {@code IsDeleteMarker},
 *       {@code IsLatest}) are passed over. Its {@code LastModifiedDate} column gives the NAR
 *       objects' ages ({@link #narAges}), so {@code --older-than} needs no HEAD per object.
 * </ul>
 *
 * Everything is streamed, a line at a time: memory does not grow with the files. {@link #open}
 * checks every file before any key is used (present, of a known kind, each manifest whole and
 * its files found), so that a mistake fails the run at its start rather than hours into it.
 */
public final class KeyFiles {
  private final List<Input> inputs;

  private KeyFiles(List<Input> inputs) {
    this.inputs = List.copyOf(inputs);
  }

  /** One file given: a key list, or a manifest with its CSV files. */
  private sealed interface Input {
    record KeyList(Path file) implements Input {}

    record Inventory(InventoryManifest manifest) implements Input {}
  }

  /**
   * Checks the files and says what each is.
   *
   * @throws IllegalArgumentException naming a file that is missing, or a manifest that is
   *     malformed, not a CSV inventory, has no {@code Key} column or names files not on disk
   */
  public static KeyFiles open(List<Path> files) throws IOException {
    return open(files, Optional.empty());
  }

  /**
   * As {@link #open(List)}, also refusing an inventory of another bucket than {@code bucket}: its
   * ages would decide {@code --older-than} for objects they do not describe.
   */
  public static KeyFiles open(List<Path> files, Optional<String> bucket) throws IOException {
    if (files.isEmpty()) {
      throw new IllegalArgumentException("--keys-from needs at least one file");
    }
    List<Input> inputs = new ArrayList<>();
    for (Path f : files) {
      if (!Files.isRegularFile(f)) {
        throw new IllegalArgumentException("--keys-from: no such file: " + f);
      }
      if (startsWithBrace(f)) {
        InventoryManifest manifest = InventoryManifest.read(f);
        if (bucket.isPresent() && manifest.sourceBucket().isPresent()
            && !manifest.sourceBucket().get().equals(bucket.get())) {
          throw new IllegalArgumentException("--keys-from: " + f + " is an inventory of bucket "
              + manifest.sourceBucket().get() + ", but this run migrates bucket " + bucket.get());
        }
        inputs.add(new Input.Inventory(manifest));
      } else {
        inputs.add(new Input.KeyList(f));
      }
    }
    return new KeyFiles(inputs);
  }

  private static boolean startsWithBrace(Path file) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      int b;
      do {
        b = in.read();
      } while (b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == 0xEF || b == 0xBB || b == 0xBF);
      return b == '{';
    }
  }

  /** Whether some inventory has a {@code LastModifiedDate} column for {@link #narAges}. */
  public boolean hasLastModified() {
    return inputs.stream().anyMatch(i -> i instanceof Input.Inventory inv && inv.manifest().column("LastModifiedDate") >= 0);
  }

  /**
   * The narinfo keys of this shard, file after file, in the files' order. A file that has lines
   * but not one narinfo key is refused when it ends (a wrong file, most likely).
   */
  public NarInfoKeys narInfoKeys(Shard shard) {
    Rows rows = new Rows(inputs, true);
    return new NarInfoKeys() {
      private String next;
      private String last;

      @Override
      public boolean hasNext() {
        try {
          while (next == null && rows.advance()) {
            String key = rows.key();
            // Consecutive repeats (a list of object versions, a list made twice) are one key.
            if (NARINFO_KEY.matcher(key).matches() && shard.contains(key) && !key.equals(last)) {
              next = key;
            }
          }
        } catch (IOException e) {
          throw new InputFailedException(e);
        }
        return next != null;
      }

      @Override
      public String next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        last = next;
        next = null;
        return last;
      }

      @Override
      public void close() {
        try {
          rows.close();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
  }

  /**
   * When each NAR object ({@code nar/…}) was last modified, from the inventories' rows: reads
   * them all once, into a sorted file in {@code dir}.
   */
  public NarAges narAges(Path dir, long memoryBytes) throws IOException {
    try (Rows rows = new Rows(inputs, false)) {
      return NarAges.build(rows, dir, memoryBytes);
    }
  }

  /**
   * The rows of every file in turn: a key, and its last modification when the file says
   * ({@code -1} otherwise). One line in memory at a time.
   */
  static final class Rows implements AutoCloseable {
    private final List<Part> parts = new ArrayList<>();
    private final boolean checkNarInfos;
    private int at = -1;
    private BufferedReader reader;
    private DigestInputStream raw;
    private long line;
    private long narInfos;
    private long rowsOfInput;
    private String key;
    private long lastModified;

    /** One file to read: a key list, or one CSV file of an inventory. */
    private record Part(Path path, Input input, Optional<InventoryManifest.DataFile> data, boolean lastOfInput,
        Optional<InventoryRow.Columns> columns) {}

    Rows(List<Input> inputs, boolean checkNarInfos) {
      this.checkNarInfos = checkNarInfos;
      for (Input input : inputs) {
        switch (input) {
          case Input.KeyList list -> parts.add(new Part(list.file(), input, Optional.empty(), true, Optional.empty()));
          case Input.Inventory inv -> {
            List<InventoryManifest.DataFile> files = inv.manifest().files();
            InventoryRow.Columns columns = InventoryRow.Columns.of(inv.manifest());
            for (int i = 0; i < files.size(); i++) {
              parts.add(new Part(files.get(i).path(), input, Optional.of(files.get(i)), i == files.size() - 1,
                  Optional.of(columns)));
            }
          }
        }
      }
    }

    /** Moves to the next row; false after the last. */
    boolean advance() throws IOException {
      while (true) {
        if (reader == null && !openNext()) {
          return false;
        }
        String text = reader.readLine();
        if (text == null) {
          finishPart();
          continue;
        }
        line++;
        if (parse(text)) {
          rowsOfInput++;
          if (NarInfoKeys.NARINFO_KEY.matcher(key).matches()) {
            narInfos++;
          }
          return true;
        }
      }
    }

    String key() {
      return key;
    }

    /** Epoch millis of the row's last modification, or -1 when its file does not say. */
    long lastModified() {
      return lastModified;
    }

    private boolean openNext() throws IOException {
      if (at + 1 >= parts.size()) {
        return false;
      }
      at++;
      Part part = parts.get(at);
      InputStream in;
      try {
        in = Files.newInputStream(part.path());
      } catch (NoSuchFileException e) {
        throw new IOException(part.path() + " is gone since the run started", e);
      }
      raw = new DigestInputStream(new BufferedInputStream(in, 1 << 16), md5());
      // A peek at the magic bytes, which the digest must not count twice.
      raw.on(false);
      raw.mark(2);
      boolean gzip = raw.read() == 0x1f && raw.read() == 0x8b;
      raw.reset();
      raw.on(true);
      InputStream text = gzip ? new GZIPInputStream(raw, 1 << 16) : raw;
      reader = new BufferedReader(new InputStreamReader(text, StandardCharsets.UTF_8), 1 << 16);
      line = 0;
      return true;
    }

    private void finishPart() throws IOException {
      Part part = parts.get(at);
      raw.readAllBytes();
      reader.close();
      reader = null;
      if (part.data().isPresent() && part.data().get().md5().isPresent()) {
        String md5 = HexFormat.of().formatHex(raw.getMessageDigest().digest());
        if (!md5.equalsIgnoreCase(part.data().get().md5().get())) {
          throw new IOException(part.path() + " has MD5 " + md5 + " but its manifest says "
              + part.data().get().md5().get() + ": a damaged or different file");
        }
      }
      if (part.lastOfInput()) {
        if (checkNarInfos && rowsOfInput > 0 && narInfos == 0) {
          Path named = part.input() instanceof Input.Inventory inv ? inv.manifest().manifest() : part.path();
          throw new IllegalArgumentException(named + ": not one <hash>.narinfo key in its " + rowsOfInput
              + " keys; expected the keys of a binary cache's bucket, one per line, or an S3 Inventory of it");
        }
        rowsOfInput = 0;
        narInfos = 0;
      }
    }

    /** Reads one line into {@link #key} and {@link #lastModified}; false for a line without a key. */
    private boolean parse(String text) {
      Part part = parts.get(at);
      switch (part.input()) {
        case Input.KeyList list -> {
          String l = text.strip();
          if (l.isEmpty() || l.startsWith("#")) {
            return false;
          }
          int space = lastWhitespace(l);
          key = space < 0 ? l : l.substring(space + 1);
          lastModified = -1;
          return true;
        }
        case Input.Inventory inv -> {
          InventoryRow row = InventoryRow.parse(text, part.columns().orElseThrow(), part.path(), line);
          if (row == null) {
            return false;
          }
          key = row.key();
          lastModified = row.lastModified();
          return true;
        }
      }
    }

    private static int lastWhitespace(String s) {
      for (int i = s.length() - 1; i >= 0; i--) {
        if (Character.isWhitespace(s.charAt(i))) {
          return i;
        }
      }
      return -1;
    }

    private static MessageDigest md5() {
      try {
        return MessageDigest.getInstance("MD5");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has MD5", e);
      }
    }

    @Override
    public void close() throws IOException {
      if (reader != null) {
        reader.close();
        reader = null;
      }
    }
  }
}
