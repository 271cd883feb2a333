package dev.narvault.encoder.input;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * One row of an S3 Inventory CSV file: fields separated by commas, each usually in double quotes
 * (a quote inside written twice), the key URL-encoded.
 *
 * @param key the object's key, decoded
 * @param lastModified epoch millis of {@code LastModifiedDate}, or -1 when the schema has none
 */
record InventoryRow(String key, long lastModified) {
  /** Where the columns this reads are in the manifest's {@code fileSchema} (-1: absent). */
  record Columns(List<String> names, int key, int lastModified, int latest, int deleteMarker) {
    static Columns of(InventoryManifest manifest) {
      return new Columns(manifest.columns(), manifest.column("Key"), manifest.column("LastModifiedDate"),
          manifest.column("IsLatest"), manifest.column("IsDeleteMarker"));
    }
  }

  /**
   * Parses a line by the manifest's schema; null for a row to pass over (a delete marker, an
   * older version, a blank line).
   *
   * @throws IllegalArgumentException naming the file and line, for a row that does not parse
   */
  static InventoryRow parse(String line, Columns columns, Path file, long lineNumber) {
    if (line.isBlank()) {
      return null;
    }
    List<String> fields = fields(line, file, lineNumber);
    if (fields.size() != columns.names().size()) {
      throw new IllegalArgumentException(file + ":" + lineNumber + ": " + fields.size() + " fields, but the manifest's "
          + "fileSchema has " + columns.names().size() + " (" + String.join(", ", columns.names()) + ")");
    }
    if (columns.deleteMarker() >= 0 && fields.get(columns.deleteMarker()).equalsIgnoreCase("true")
        || columns.latest() >= 0 && fields.get(columns.latest()).equalsIgnoreCase("false")) {
      return null;
    }
    String encoded = fields.get(columns.key());
    String key;
    try {
      key = URLDecoder.decode(encoded, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ":" + lineNumber + ": the key is not URL-encoded text: " + encoded, e);
    }
    long millis = -1;
    if (columns.lastModified() >= 0) {
      String text = fields.get(columns.lastModified());
      try {
        millis = Instant.parse(text).toEpochMilli();
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException(file + ":" + lineNumber + ": LastModifiedDate '" + text
            + "' is not an ISO-8601 time such as 2024-01-31T12:00:00.000Z", e);
      }
    }
    return new InventoryRow(key, millis);
  }

  /** The fields of a CSV line, unquoted. */
  static List<String> fields(String line, Path file, long lineNumber) {
    List<String> fields = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    int i = 0;
    while (true) {
      field.setLength(0);
      if (i < line.length() && line.charAt(i) == '"') {
        i++;
        while (true) {
          if (i >= line.length()) {
            throw new IllegalArgumentException(file + ":" + lineNumber + ": a quoted field is not closed: " + line);
          }
          char c = line.charAt(i++);
          if (c != '"') {
            field.append(c);
          } else if (i < line.length() && line.charAt(i) == '"') {
            field.append('"');
            i++;
          } else {
            break;
          }
        }
        if (i < line.length() && line.charAt(i) != ',') {
          throw new IllegalArgumentException(file + ":" + lineNumber + ": text after a quoted field: " + line);
        }
      } else {
        while (i < line.length() && line.charAt(i) != ',') {
          field.append(line.charAt(i++));
        }
      }
      fields.add(field.toString());
      if (i >= line.length()) {
        return fields;
      }
      i++; // the comma
    }
  }
}
