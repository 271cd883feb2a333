package dev.narvault.encoder.input;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * An S3 Inventory's {@code manifest.json}, with its data files found on local disk.
 *
 * <p>What is read of it: {@code fileFormat} (only {@code CSV}), {@code fileSchema} (the column
 * names, e.g. {@code "Bucket, Key, Size, LastModifiedDate"}: it must name {@code Key}), and
 * {@code files}, each with the {@code key} of a gzip CSV file in the inventory's bucket, its
 * {@code size} and {@code MD5checksum}.
 *
 * <p>Where the files are: S3 writes the manifest under
 * {@code prefix/source-bucket/config-id/YYYY-MM-DDTHH-MMZ/manifest.json} and names its files by
 * their whole key, {@code prefix/source-bucket/config-id/data/<uuid>.csv.gz}. A copy on local
 * disk keeps some tail of that layout: {@code aws s3 sync} of the prefix keeps all of it, a copy
 * of one inventory keeps {@code data/}, a hand-made folder has the manifest and its files side by
 * side. So each file is looked for under the manifest's folder and every folder above it, as its
 * whole key and then as each shorter tail of it (down to the file name), nearest folder first;
 * the first regular file found is the one. Its size must be the manifest's (a partial download is
 * refused before anything is read); its MD5, when the manifest gives one, is checked as it is read.
 *
 * @param manifest the manifest file
 * @param sourceBucket the bucket the inventory lists ({@code sourceBucket}), if the manifest says
 * @param columns the column names of {@code fileSchema}, in order
 * @param files the data files, in the manifest's order
 */
record InventoryManifest(Path manifest, Optional<String> sourceBucket, List<String> columns, List<DataFile> files) {
  private static final ObjectMapper JSON = new ObjectMapper();

  InventoryManifest {
    columns = List.copyOf(columns);
    files = List.copyOf(files);
  }

  /**
   * One gzip CSV file of the inventory.
   *
   * @param md5 the manifest's {@code MD5checksum} (hex), if it gives one
   */
  record DataFile(String key, Path path, long size, Optional<String> md5) {}

  /** The index of a column of {@code fileSchema} (names compared ignoring case), or -1. */
  int column(String name) {
    for (int i = 0; i < columns.size(); i++) {
      if (columns.get(i).equalsIgnoreCase(name)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Reads a manifest and finds its files.
   *
   * @throws IllegalArgumentException naming the manifest, for a manifest that is not JSON, not a
   *     CSV inventory, has no {@code Key} column, or names a file that is not on local disk (or
   *     not whole)
   */
  static InventoryManifest read(Path manifest) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(Files.readAllBytes(manifest));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IllegalArgumentException(manifest + ": not an S3 Inventory manifest, not valid JSON: "
          + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(manifest + ": not an S3 Inventory manifest (a JSON object)");
    }
    String format = text(root, "fileFormat", manifest);
    if (!format.equalsIgnoreCase("CSV")) {
      throw new IllegalArgumentException(manifest + ": the inventory's fileFormat is " + format
          + "; narvault reads CSV inventories only (choose CSV as the inventory's output format)");
    }
    List<String> columns = Arrays.stream(text(root, "fileSchema", manifest).split(",")).map(String::strip).toList();
    if (columns.stream().noneMatch(c -> c.equalsIgnoreCase("Key"))) {
      throw new IllegalArgumentException(manifest + ": its fileSchema has no Key column: '"
          + root.get("fileSchema").asText() + "'");
    }
    JsonNode files = root.get("files");
    if (files == null || !files.isArray()) {
      throw new IllegalArgumentException(manifest + ": not an S3 Inventory manifest: no \"files\" list");
    }
    List<DataFile> found = new ArrayList<>();
    for (JsonNode f : files) {
      String key = f.path("key").asText("");
      if (key.isEmpty()) {
        throw new IllegalArgumentException(manifest + ": an entry of \"files\" has no key: " + f);
      }
      Path path = locate(manifest, key);
      long size = Files.size(path);
      if (f.has("size") && f.get("size").asLong(-1) != size) {
        throw new IllegalArgumentException(manifest + ": " + path + " has " + size + " bytes but the manifest says "
            + f.get("size").asText() + " for " + key + " (a partial download?)");
      }
      String md5 = f.path("MD5checksum").asText("");
      found.add(new DataFile(key, path, size, md5.isEmpty() ? Optional.empty() : Optional.of(md5)));
    }
    String source = root.path("sourceBucket").asText("");
    return new InventoryManifest(manifest, source.isEmpty() ? Optional.empty() : Optional.of(source), columns, found);
  }

  private static String text(JsonNode root, String field, Path manifest) {
    JsonNode node = root.get(field);
    if (node == null || !node.isTextual() || node.asText().isBlank()) {
      throw new IllegalArgumentException(manifest + ": not an S3 Inventory manifest: no \"" + field + "\"");
    }
    return node.asText();
  }

  /** Finds an inventory file named by its key on local disk, as the class comment says. */
  static Path locate(Path manifest, String key) {
    List<String> parts = Arrays.stream(key.split("/")).filter(p -> !p.isEmpty()).toList();
    if (parts.isEmpty() || parts.contains("..") || parts.contains(".")) {
      throw new IllegalArgumentException(manifest + ": refusing the inventory file key '" + key + "'");
    }
    Path folder = manifest.toAbsolutePath().getParent();
    for (int from = 0; from < parts.size(); from++) {
      String tail = String.join("/", parts.subList(from, parts.size()));
      for (Path dir = folder; dir != null; dir = dir.getParent()) {
        Path candidate = dir.resolve(tail);
        if (Files.isRegularFile(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalArgumentException(manifest + ": cannot find the inventory file " + key + " on local disk "
        + "(looked for it, and for each tail of it down to its name, under the manifest's folder and every folder "
        + "above it, e.g. " + folder.resolve(key) + " and " + folder.resolve(parts.getLast()) + "); download the "
        + "inventory's files first, e.g. with aws s3 sync of its prefix");
  }
}
