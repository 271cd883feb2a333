package dev.narvault.core.s3;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.zip.GZIPOutputStream;

/**
 * Writes an S3 Inventory of some objects as S3 publishes one, for tests of what reads them: gzip
 * CSV files (every field quoted, keys URL-encoded) and a {@code manifest.json} naming them by
 * their keys in the inventory's bucket, laid out on disk as {@code aws s3 sync} of the
 * inventory's prefix would leave it:
 * {@code root/inventory/<bucket>/narvault/<date>/manifest.json} and
 * {@code root/inventory/<bucket>/narvault/data/<uuid>.csv.gz}.
 */
public final class InventoryFiles {
  /** The columns written, as the manifest's {@code fileSchema} names them. */
  public static final String SCHEMA = "Bucket, Key, Size, LastModifiedDate";

  private InventoryFiles() {}

  /** Writes the objects, split over {@code fileCount} CSV files, and answers the manifest's path. */
  public static Path write(Path root, String bucket, List<StoredObject> objects, int fileCount) throws IOException {
    return write(root, bucket, objects, fileCount, SCHEMA, o -> List.of(bucket, o.key(), Long.toString(o.size()),
        o.lastModified().toString()));
  }

  /**
   * As above, with another schema.
   *
   * @param row each object's fields in the schema's order (the one named Key is URL-encoded here)
   */
  public static Path write(Path root, String bucket, List<StoredObject> objects, int fileCount, String schema,
      Function<StoredObject, List<String>> row) throws IOException {
    Path config = root.resolve("inventory").resolve(bucket).resolve("narvault");
    Path data = Files.createDirectories(config.resolve("data"));
    Path dated = Files.createDirectories(config.resolve("2024-01-01T00-00Z"));
    List<String> entries = new ArrayList<>();
    int keyColumn = List.of(schema.split(", *")).indexOf("Key");
    int per = Math.ceilDiv(Math.max(1, objects.size()), fileCount);
    for (int f = 0; f < fileCount; f++) {
      String name = UUID.randomUUID() + ".csv.gz";
      Path file = data.resolve(name);
      try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
        for (StoredObject o : objects.subList(Math.min(objects.size(), f * per), Math.min(objects.size(), (f + 1) * per))) {
          List<String> fields = new ArrayList<>(row.apply(o));
          if (keyColumn >= 0) {
            fields.set(keyColumn, URLEncoder.encode(fields.get(keyColumn), StandardCharsets.UTF_8));
          }
          out.write((String.join(",", fields.stream().map(v -> "\"" + v.replace("\"", "\"\"") + "\"").toList())
              + "\n").getBytes(StandardCharsets.UTF_8));
        }
      }
      entries.add("{\"key\": \"inventory/" + bucket + "/narvault/data/" + name + "\", \"size\": " + Files.size(file)
          + ", \"MD5checksum\": \"" + md5(file) + "\"}");
    }
    Path manifest = dated.resolve("manifest.json");
    Files.writeString(manifest, "{\n  \"sourceBucket\": \"" + bucket + "\",\n  \"destinationBucket\": "
        + "\"arn:aws:s3:::inventories\",\n  \"version\": \"2016-11-30\",\n  \"creationTimestamp\": \"1704067200000\",\n"
        + "  \"fileFormat\": \"CSV\",\n  \"fileSchema\": \"" + schema + "\",\n  \"files\": [\n    "
        + String.join(",\n    ", entries) + "\n  ]\n}\n");
    return manifest;
  }

  private static String md5(Path file) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(Files.readAllBytes(file)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
