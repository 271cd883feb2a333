package dev.narvault.core.nix;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A parsed {@code .narinfo}: the lines exactly as read (so {@link #toBytes()} reproduces the
 * input byte for byte, unknown keys included) plus typed views of the fields Nix knows.
 *
 * <p>Parsing follows the real Nix client: {@code Key: value} lines, each ending in {@code \n} (the
 * last one too), no CR, no line without {@code ": "}. Beyond Nix, narvault also rejects a
 * repeated single-valued key, non-UTF-8 text and files over {@link #MAX_BYTES}: a narinfo it
 * archives must mean exactly one thing.
 */
public final class NarInfo {
  /** Real narinfos average 2 KB; one with thousands of references stays far below this. */
  public static final int MAX_BYTES = 1 << 20;

  private static final Set<String> REPEATABLE = Set.of("Sig");

  /** One {@code key: value} line. */
  public record Field(String key, String value) {
    public Field {
      if (key.isEmpty() || key.indexOf(':') >= 0 || key.indexOf('\n') >= 0) {
        throw new IllegalArgumentException("invalid narinfo key '" + key + "'");
      }
      if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
        throw new IllegalArgumentException("narinfo value for " + key + " contains a line break");
      }
    }
  }

  private final List<Field> fields;
  private final StorePath storePath;
  private final String url;
  private final Sha256Hash narHash;
  private final long narSize;
  private final List<StorePath> references;

  private NarInfo(List<Field> fields) {
    this.fields = List.copyOf(fields);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < fields.size(); i++) {
      String key = fields.get(i).key();
      if (!REPEATABLE.contains(key) && isKnown(key) && !seen.add(key)) {
        throw NarInfoFormatException.atLine(i + 1, "duplicate key '" + key + "'");
      }
    }
    this.storePath = parseField("StorePath", StorePath::parse);
    this.url = required("URL");
    if (url.isEmpty()) {
      throw new NarInfoFormatException("narinfo URL is empty");
    }
    this.narHash = parseField("NarHash", Sha256Hash::parse);
    this.narSize = parseSize("NarSize", required("NarSize"));
    if (narSize == 0) {
      throw new NarInfoFormatException("narinfo NarSize must not be 0");
    }
    this.references = parseReferences(value("References").orElse(""));
    value("FileHash").ifPresent(Sha256Hash::parse);
    value("FileSize").ifPresent(v -> parseSize("FileSize", v));
  }

  /** Parses raw narinfo bytes. */
  public static NarInfo parse(byte[] bytes) {
    if (bytes.length > MAX_BYTES) {
      throw new NarInfoFormatException(
          "narinfo is " + bytes.length + " bytes, more than the limit of " + MAX_BYTES);
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new NarInfoFormatException("narinfo is not valid UTF-8", e);
    }
    return parse(text);
  }

  /** Parses narinfo text. */
  public static NarInfo parse(String text) {
    if (text.isEmpty()) {
      throw new NarInfoFormatException("narinfo is empty");
    }
    List<Field> fields = new ArrayList<>();
    int pos = 0;
    int line = 0;
    while (pos < text.length()) {
      line++;
      int eol = text.indexOf('\n', pos);
      if (eol < 0) {
        throw NarInfoFormatException.atLine(line, "missing final newline");
      }
      String content = text.substring(pos, eol);
      if (content.indexOf('\r') >= 0) {
        throw NarInfoFormatException.atLine(line, "carriage return is not allowed");
      }
      int colon = content.indexOf(": ");
      if (colon <= 0) {
        throw NarInfoFormatException.atLine(line, "expected 'Key: value', got '" + content + "'");
      }
      fields.add(new Field(content.substring(0, colon), content.substring(colon + 2)));
      pos = eol + 1;
    }
    return new NarInfo(fields);
  }

  /** Builds a narinfo in the order Nix writes its fields. */
  public static NarInfo create(StorePath storePath, String url, String compression,
      Sha256Hash fileHash, long fileSize, Sha256Hash narHash, long narSize,
      List<StorePath> references) {
    List<Field> fields = new ArrayList<>();
    fields.add(new Field("StorePath", storePath.toString()));
    fields.add(new Field("URL", url));
    fields.add(new Field("Compression", compression));
    fields.add(new Field("FileHash", fileHash.toNixString()));
    fields.add(new Field("FileSize", Long.toString(fileSize)));
    fields.add(new Field("NarHash", narHash.toNixString()));
    fields.add(new Field("NarSize", Long.toString(narSize)));
    fields.add(new Field("References",
        references.stream().map(StorePath::baseName).sorted().collect(Collectors.joining(" "))));
    return new NarInfo(fields);
  }

  /** A copy with one more {@code Sig} line, placed after the last Sig (or before CA), as Nix does. */
  public NarInfo withSignature(String signature) {
    List<Field> copy = new ArrayList<>(fields);
    int at = copy.size();
    for (int i = 0; i < copy.size(); i++) {
      String key = copy.get(i).key();
      if (key.equals("Sig")) {
        at = i + 1;
      } else if (key.equals("CA") && at == copy.size()) {
        at = i;
      }
    }
    copy.add(at, new Field("Sig", signature));
    return new NarInfo(copy);
  }

  /**
   * The text Nix signs: {@code 1;<StorePath>;sha256:<nix32 NarHash>;<NarSize>;<references>}, the
   * references as full paths, sorted, joined by commas.
   */
  public String fingerprint() {
    String refs = references.stream().map(StorePath::toString).sorted()
        .collect(Collectors.joining(","));
    return "1;" + storePath + ";" + narHash.toNixString() + ";" + narSize + ";" + refs;
  }

  public List<Field> fields() {
    return fields;
  }

  public String text() {
    StringBuilder out = new StringBuilder();
    for (Field f : fields) {
      out.append(f.key()).append(": ").append(f.value()).append('\n');
    }
    return out.toString();
  }

  public byte[] toBytes() {
    return text().getBytes(StandardCharsets.UTF_8);
  }

  public StorePath storePath() {
    return storePath;
  }

  public String url() {
    return url;
  }

  /** The compression of the NAR object; a missing or empty field means bzip2, as in Nix. */
  public String compression() {
    String c = value("Compression").orElse("");
    return c.isEmpty() ? "bzip2" : c;
  }

  public Optional<Sha256Hash> fileHash() {
    return value("FileHash").map(Sha256Hash::parse);
  }

  public OptionalLong fileSize() {
    return value("FileSize").map(v -> OptionalLong.of(parseSize("FileSize", v)))
        .orElse(OptionalLong.empty());
  }

  public Sha256Hash narHash() {
    return narHash;
  }

  public long narSize() {
    return narSize;
  }

  public List<StorePath> references() {
    return references;
  }

  public List<String> signatures() {
    return fields.stream().filter(f -> f.key().equals("Sig")).map(Field::value).toList();
  }

  /** The value of the first line with {@code key}. */
  public Optional<String> value(String key) {
    return fields.stream().filter(f -> f.key().equals(key)).map(Field::value).findFirst();
  }

  private static boolean isKnown(String key) {
    return switch (key) {
      case "StorePath", "URL", "Compression", "FileHash", "FileSize", "NarHash", "NarSize",
          "References", "Deriver", "System", "Sig", "CA" -> true;
      default -> false;
    };
  }

  private String required(String key) {
    return value(key).orElseThrow(() -> new NarInfoFormatException("narinfo has no " + key));
  }

  private <T> T parseField(String key, Function<String, T> parser) {
    String v = required(key);
    try {
      return parser.apply(v);
    } catch (IllegalArgumentException e) {
      throw new NarInfoFormatException("narinfo " + key + ": " + e.getMessage(), e);
    }
  }

  private static long parseSize(String key, String v) {
    try {
      long size = Long.parseLong(v);
      if (size < 0 || !v.equals(Long.toString(size))) {
        throw new NumberFormatException();
      }
      return size;
    } catch (NumberFormatException e) {
      throw new NarInfoFormatException("narinfo " + key + " is not a size: '" + v + "'");
    }
  }

  private static List<StorePath> parseReferences(String v) {
    if (v.isEmpty()) {
      return List.of();
    }
    List<StorePath> refs = new ArrayList<>();
    for (String name : v.split(" ", -1)) {
      try {
        refs.add(StorePath.parseBaseName(name));
      } catch (IllegalArgumentException e) {
        throw new NarInfoFormatException("narinfo References: " + e.getMessage(), e);
      }
    }
    return List.copyOf(refs);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NarInfo other && fields.equals(other.fields);
  }

  @Override
  public int hashCode() {
    return fields.hashCode();
  }

  @Override
  public String toString() {
    return "NarInfo[" + storePath + "]";
  }
}
