package dev.narvault.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.StreamSupport;

/**
 * Turns a JMH JSON result file of {@link CodecBenchmark} into the markdown table of
 * {@code docs/performance.md}: median MB/s of data bytes per cell, the ratio vector/backblaze and
 * the vector codec as a share of a plain memory copy measured in the same run.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.narvault.bench.CodecReport result.json}
 */
public final class CodecReport {
  private CodecReport() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: CodecReport <jmh-result.json>");
      System.exit(2);
    }
    JsonNode results = new ObjectMapper().readTree(Path.of(args[0]).toFile());
    // key: code|size|threads -> op|codec -> median MB/s
    Map<String, Map<String, Double>> cells = new TreeMap<>(CodecReport::compareKeys);
    for (JsonNode r : results) {
      String op = r.get("benchmark").asText().replaceAll(".*\\.", "");
      JsonNode p = r.get("params");
      String code = p.get("code").asText();
      int size = p.get("fragmentSize").asInt();
      int threads = p.has("threads") ? p.get("threads").asInt() : 1;
      int k = Integer.parseInt(code.split("\\+")[0]);
      double[] raw = rawScores(r.get("primaryMetric").get("rawData"));
      double medianOps = median(raw);
      double mbPerSecond = medianOps * k * (double) size / 1e6;
      String key = code + "|" + size + "|" + threads;
      String column = op.equals("copy") ? "copy" : op + "|" + p.get("codec").asText();
      if (op.equals("copy")) {
        // The copy does not depend on threads: file it under every thread count measured.
        for (int t : new int[] {1, 2}) {
          cells.computeIfAbsent(code + "|" + size + "|" + t, x -> new LinkedHashMap<>()).merge(column, mbPerSecond, Math::max);
        }
        continue;
      }
      cells.computeIfAbsent(key, x -> new LinkedHashMap<>()).merge(column, mbPerSecond, Math::max);
    }
    System.out.println("| code | fragment | threads | operation | Backblaze MB/s | vector MB/s | vector / Backblaze | vector / copy |");
    System.out.println("|---|---|---|---|---:|---:|---:|---:|");
    for (Map.Entry<String, Map<String, Double>> e : cells.entrySet()) {
      String[] key = e.getKey().split("\\|");
      Map<String, Double> c = e.getValue();
      Double copy = c.get("copy");
      for (String op : new String[] {"encode", "decodeOneMissing", "decodeMMissing"}) {
        Double bb = c.get(op + "|backblaze");
        Double vec = c.get(op + "|vector");
        if (vec == null && bb == null) {
          continue;
        }
        System.out.printf(Locale.ROOT, "| RS(%s) | %s | %s | %s | %s | %s | %s | %s |%n",
            key[0].replace('+', ','), size(Integer.parseInt(key[1])), key[2], label(op),
            fmt(bb), fmt(vec), ratio(vec, bb, "×"), ratio(vec, copy, ""));
      }
      if (copy != null && c.size() > 1) {
        System.out.printf(Locale.ROOT, "| RS(%s) | %s | %s | memory copy (limit) | | %s | | |%n",
            key[0].replace('+', ','), size(Integer.parseInt(key[1])), key[2], fmt(copy));
      }
    }
  }

  private static double[] rawScores(JsonNode rawData) {
    return StreamSupport.stream(rawData.spliterator(), false)
        .flatMap(fork -> StreamSupport.stream(fork.spliterator(), false))
        .mapToDouble(JsonNode::asDouble).toArray();
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  private static int compareKeys(String a, String b) {
    String[] x = a.split("\\|");
    String[] y = b.split("\\|");
    int c = Integer.compare(order(x[0]), order(y[0]));
    if (c == 0) {
      c = Integer.compare(Integer.parseInt(x[1]), Integer.parseInt(y[1]));
    }
    return c != 0 ? c : Integer.compare(Integer.parseInt(x[2]), Integer.parseInt(y[2]));
  }

  private static int order(String code) {
    String[] km = code.split("\\+");
    return Integer.parseInt(km[0]) * 1000 + Integer.parseInt(km[1]);
  }

  private static String label(String op) {
    return switch (op) {
      case "encode" -> "encode";
      case "decodeOneMissing" -> "decode, 1 data missing";
      default -> "decode, m data missing";
    };
  }

  private static String size(int bytes) {
    return bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : (bytes >> 10) + " KiB";
  }

  private static String fmt(Double v) {
    return v == null ? "" : String.format(Locale.ROOT, "%,.0f", v);
  }

  private static String ratio(Double a, Double b, String suffix) {
    return a == null || b == null ? "" : String.format(Locale.ROOT, "%.1f%s", a / b, suffix);
  }
}
