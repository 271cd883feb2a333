package dev.narvault.core.access;

import dev.narvault.core.nix.NixBase32;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads the lines of one request log, in one of the formats operators have, into requests: a
 * subject ({@link RequestPath}) and a time. Stateful per file: the format is recognised from the
 * first line that shows one (unless given), and a CloudFront log's {@code #Fields} header says
 * which columns to read.
 *
 * <dl>
 *   <dt>{@link Format#COMMON} (Fastly, nginx, Apache)
 *   <dd>The common or combined log format: a time in brackets, {@code [10/Oct/2023:13:55:36
 *       +0000]} (or an ISO-8601 time in brackets), then the quoted request line
 *       {@code "GET /path HTTP/1.1"}. Whatever stands before the time (client address, a syslog
 *       header as Fastly's syslog endpoints send) is passed over.
 *   <dt>{@link Format#S3_ACCESS} (S3 server access logs)
 *   <dd>Owner, bucket, bracketed time, remote IP, requester, request id, operation and key:
 *       {@code REST.GET.OBJECT} and {@code REST.HEAD.OBJECT} are requests, other operations
 *       (uploads, listings) are not.
 *   <dt>{@link Format#CLOUDFRONT} (CloudFront standard logs)
 *   <dd>Tab-separated, with {@code #Fields:} naming the columns; {@code date}, {@code time}
 *       (UTC), {@code cs-method} and {@code cs-uri-stem} are read.
 *   <dt>{@link Format#PLAIN}
 *   <dd>{@code <store hash or store path or key> <epoch seconds>}, separated by blanks.
 * </dl>
 *
 * Only {@code GET} and {@code HEAD} requests count. Times before 2000 or more than a day ahead of
 * {@code nowMillis} are refused: a date misread far in the future would keep a NAR hot forever.
 *
 * <p>{@link #parse} answers a {@link Line} or throws {@link IllegalArgumentException} with the
 * reason for a bad line; nothing else, whatever the input (fuzzed in {@code ParserFuzzTest}).
 */
public final class RequestLogParser {
  /** 2000-01-01T00:00:00Z: no binary cache served before. */
  static final long EARLIEST_MILLIS = 946_684_800_000L;
  private static final long DAY_MILLIS = 86_400_000L;
  private static final List<String> MONTHS = List.of("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
      "Oct", "Nov", "Dec");

  /** A log format; {@link #AUTO} recognises the others. */
  public enum Format {
    AUTO, PLAIN, COMMON, CLOUDFRONT, S3_ACCESS;

    /** Parses {@code auto}, {@code plain}, {@code common}, {@code cloudfront} or {@code s3}. */
    public static Format parse(String name) {
      return switch (name.toLowerCase(Locale.ROOT)) {
        case "auto" -> AUTO;
        case "plain" -> PLAIN;
        case "common", "combined", "fastly" -> COMMON;
        case "cloudfront" -> CLOUDFRONT;
        case "s3" -> S3_ACCESS;
        default -> throw new IllegalArgumentException(
            "a log format is auto, plain, common, cloudfront or s3, got '" + name + "'");
      };
    }

    @Override
    public String toString() {
      return switch (this) {
        case AUTO -> "auto";
        case PLAIN -> "plain list";
        case COMMON -> "common log format";
        case CLOUDFRONT -> "CloudFront standard log";
        case S3_ACCESS -> "S3 server access log";
      };
    }
  }

  /** What one line was. */
  public sealed interface Line {
    /** A request for a subject at a time. */
    record Request(String subject, long millis) implements Line {}

    /** Nothing to count: blank, a comment or header, another method, a path that names no NAR. */
    record Ignored(String why) implements Line {}
  }

  private final long latestMillis;
  private Format format;
  /** CloudFront: the columns of date, time, method and URI stem, once {@code #Fields} said. */
  private int[] columns;

  /** @param nowMillis the present: later than a day after it is a bad time */
  public RequestLogParser(Format format, long nowMillis) {
    this.format = format;
    this.latestMillis = nowMillis + DAY_MILLIS;
  }

  /** The format read, once known. */
  public Format format() {
    return format;
  }

  /**
   * One line, without its line end.
   *
   * @throws IllegalArgumentException for a line that is none of what the format allows, naming why
   */
  public Line parse(String line) {
    if (line.isBlank()) {
      return new Line.Ignored("blank");
    }
    if (format == Format.AUTO) {
      format = recognise(line);
      if (format == Format.AUTO) {
        throw new IllegalArgumentException("not a line of any log format narvault reads");
      }
    }
    return switch (format) {
      case PLAIN -> plain(line);
      case COMMON -> common(line);
      case CLOUDFRONT -> cloudFront(line);
      case S3_ACCESS -> s3(line);
      case AUTO -> throw new IllegalStateException("recognised above");
    };
  }

  /** The format a line shows, or {@link Format#AUTO} when it shows none. */
  static Format recognise(String line) {
    if (line.startsWith("#Version:") || line.startsWith("#Fields:")) {
      return Format.CLOUDFRONT;
    }
    Optional<Bracketed> time = bracketedTime(line);
    if (time.isPresent()) {
      String[] after = tokens(line.substring(time.get().end()), 5);
      if (after.length >= 5 && isS3Operation(after[3])) {
        return Format.S3_ACCESS;
      }
      return line.indexOf('"', time.get().end()) >= 0 ? Format.COMMON : Format.AUTO;
    }
    String[] t = tokens(line, 3);
    if (t.length == 2 && subjectOf(t[0]).isPresent() && isEpochSeconds(t[1])) {
      return Format.PLAIN;
    }
    return Format.AUTO;
  }

  private Line plain(String line) {
    if (line.startsWith("#")) {
      return new Line.Ignored("comment");
    }
    String[] t = tokens(line, 3);
    if (t.length != 2) {
      throw new IllegalArgumentException("expected '<store hash> <epoch seconds>'");
    }
    String subject = subjectOf(t[0]).orElseThrow(
        () -> new IllegalArgumentException("not a store hash, store path, narinfo or nar/ key: '" + clip(t[0]) + "'"));
    if (!isEpochSeconds(t[1])) {
      throw new IllegalArgumentException("not epoch seconds: '" + clip(t[1]) + "'");
    }
    String whole = t[1].contains(".") ? t[1].substring(0, t[1].indexOf('.')) : t[1];
    if (whole.length() > 12) {
      throw new IllegalArgumentException("time out of range: " + clip(t[1]));
    }
    return new Line.Request(subject, checked(Long.parseLong(whole) * 1000));
  }

  private Line common(String line) {
    Bracketed time = bracketedTime(line).orElseThrow(
        () -> new IllegalArgumentException("no [time] of the common log format"));
    int open = line.indexOf('"', time.end());
    if (open < 0) {
      throw new IllegalArgumentException("no quoted request line after the time");
    }
    int close = closingQuote(line, open + 1);
    String[] request = tokens(line.substring(open + 1, close), 4);
    if (request.length == 1 && request[0].equals("-")) {
      return new Line.Ignored("no request");
    }
    if (request.length < 2 || request.length > 3) {
      throw new IllegalArgumentException("request line is not 'METHOD target [PROTOCOL]'");
    }
    return request(request[0], request[1], time.millis());
  }

  private Line s3(String line) {
    Bracketed time = bracketedTime(line).orElseThrow(
        () -> new IllegalArgumentException("no [time] of an S3 server access log"));
    String[] t = tokens(line.substring(time.end()), 6);
    if (t.length < 5 || !isS3Operation(t[3])) {
      throw new IllegalArgumentException("no S3 operation (REST.GET.OBJECT, ...) after the time");
    }
    String operation = t[3];
    boolean read = operation.endsWith(".GET.OBJECT") || operation.endsWith(".HEAD.OBJECT");
    if (!read) {
      return new Line.Ignored("operation");
    }
    if (t[4].equals("-")) {
      throw new IllegalArgumentException("an object read without a key");
    }
    Optional<String> subject = RequestPath.subject(t[4]);
    return subject.isPresent() ? new Line.Request(subject.get(), checked(time.millis())) : new Line.Ignored("path");
  }

  private Line cloudFront(String line) {
    if (line.startsWith("#")) {
      if (line.startsWith("#Fields:")) {
        columns = fields(line.substring("#Fields:".length()));
      }
      return new Line.Ignored("header");
    }
    if (columns == null) {
      throw new IllegalArgumentException("a CloudFront log line before its #Fields header");
    }
    String[] cells = line.split("\t", -1);
    for (int c : columns) {
      if (c >= cells.length) {
        throw new IllegalArgumentException("a CloudFront log line with " + cells.length + " fields, fewer than #Fields");
      }
    }
    long millis;
    try {
      millis = LocalDate.parse(cells[columns[0]]).atTime(LocalTime.parse(cells[columns[1]]))
          .toInstant(ZoneOffset.UTC).toEpochMilli();
    } catch (DateTimeException e) {
      throw new IllegalArgumentException("bad CloudFront date or time: '" + clip(cells[columns[0]]) + " "
          + clip(cells[columns[1]]) + "'");
    }
    return request(cells[columns[2]], cells[columns[3]], millis);
  }

  /** The columns of date, time, cs-method and cs-uri-stem among the header's field names. */
  private static int[] fields(String names) {
    String[] n = names.strip().split("\\s+");
    List<String> list = List.of(n);
    int[] columns = new int[4];
    List<String> wanted = List.of("date", "time", "cs-method", "cs-uri-stem");
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      columns[i] = list.indexOf(wanted.get(i));
      if (columns[i] < 0) {
        missing.add(wanted.get(i));
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("CloudFront #Fields without " + missing);
    }
    return columns;
  }

  private Line request(String method, String target, long millis) {
    if (!method.equals("GET") && !method.equals("HEAD")) {
      return new Line.Ignored("method");
    }
    Optional<String> subject = RequestPath.subject(target);
    return subject.isPresent() ? new Line.Request(subject.get(), checked(millis)) : new Line.Ignored("path");
  }

  private long checked(long millis) {
    if (millis < EARLIEST_MILLIS || millis > latestMillis) {
      throw new IllegalArgumentException("time out of range (before 2000 or in the future): "
          + java.time.Instant.ofEpochMilli(millis));
    }
    return millis;
  }

  /** A time in brackets and where the closing bracket ends. */
  record Bracketed(long millis, int end) {}

  /** The first {@code [...]} holding a time, trying each bracket (a syslog header may hold others). */
  static Optional<Bracketed> bracketedTime(String line) {
    int from = 0;
    for (int tries = 0; tries < 8; tries++) {
      int open = line.indexOf('[', from);
      if (open < 0) {
        return Optional.empty();
      }
      int close = line.indexOf(']', open + 1);
      if (close < 0) {
        return Optional.empty();
      }
      OptionalTime t = time(line.substring(open + 1, close));
      if (t.valid) {
        return Optional.of(new Bracketed(t.millis, close + 1));
      }
      from = open + 1;
    }
    return Optional.empty();
  }

  private record OptionalTime(boolean valid, long millis) {
    static final OptionalTime NONE = new OptionalTime(false, 0);
  }

  /** {@code 10/Oct/2000:13:55:36 -0700}, or an ISO-8601 time with an offset. */
  private static OptionalTime time(String s) {
    if (s.length() == 26 && s.charAt(2) == '/' && s.charAt(6) == '/' && s.charAt(11) == ':' && s.charAt(20) == ' ') {
      int day = number(s, 0, 2);
      int month = MONTHS.indexOf(s.substring(3, 6)) + 1;
      int year = number(s, 7, 11);
      int hour = number(s, 12, 14);
      int minute = number(s, 15, 17);
      int second = number(s, 18, 20);
      char sign = s.charAt(21);
      int offsetHours = number(s, 22, 24);
      int offsetMinutes = number(s, 24, 26);
      if (day < 0 || month < 1 || year < 0 || hour < 0 || minute < 0 || second < 0 || offsetHours < 0
          || offsetMinutes < 0 || s.charAt(14) != ':' || s.charAt(17) != ':' || (sign != '+' && sign != '-')) {
        return OptionalTime.NONE;
      }
      try {
        ZoneOffset offset = ZoneOffset.ofHoursMinutes(sign == '-' ? -offsetHours : offsetHours,
            sign == '-' ? -offsetMinutes : offsetMinutes);
        return new OptionalTime(true, OffsetDateTime.of(year, month, day, hour, minute, second, 0, offset)
            .toInstant().toEpochMilli());
      } catch (DateTimeException e) {
        return OptionalTime.NONE;
      }
    }
    if (s.length() >= 20 && s.length() <= 40 && s.charAt(4) == '-' && s.charAt(10) == 'T') {
      try {
        return new OptionalTime(true, OffsetDateTime.parse(s).toInstant().toEpochMilli());
      } catch (DateTimeParseException e) {
        return OptionalTime.NONE;
      }
    }
    return OptionalTime.NONE;
  }

  /** The decimal number in {@code s[from, to)}, or -1 if it is not all digits. */
  private static int number(String s, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      n = n * 10 + (c - '0');
    }
    return n;
  }

  /** The closing quote of a quoted field opened before {@code from} ({@code \"} escapes a quote). */
  private static int closingQuote(String line, int from) {
    for (int i = from; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        return i;
      }
    }
    throw new IllegalArgumentException("the quoted request line does not end");
  }

  private static boolean isS3Operation(String token) {
    return token.startsWith("REST.") || token.startsWith("WEBSITE.") || token.startsWith("BATCH.");
  }

  /** A store hash, store path, {@code <hash>.narinfo} or {@code nar/…} key, as a subject. */
  static Optional<String> subjectOf(String token) {
    String base = token.substring(token.lastIndexOf('/') + 1);
    if (base.length() >= 32 && NixBase32.isNix32(base.substring(0, 32))
        && (base.length() == 32 || (base.charAt(32) == '-' && token.startsWith("/nix/store/")))) {
      return Optional.of(base.substring(0, 32));
    }
    try {
      return RequestPath.subject(token);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static boolean isEpochSeconds(String s) {
    if (s.isEmpty() || s.length() > 24) {
      return false;
    }
    int dots = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '.') {
        dots++;
      } else if (c < '0' || c > '9') {
        return false;
      }
    }
    return dots <= 1 && s.charAt(0) != '.';
  }

  /** Up to {@code max} blank-separated tokens of a text (more than max - 1 only tells there are more). */
  static String[] tokens(String s, int max) {
    List<String> out = new ArrayList<>();
    int i = 0;
    int n = s.length();
    while (i < n && out.size() < max) {
      while (i < n && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
        i++;
      }
      int start = i;
      while (i < n && s.charAt(i) != ' ' && s.charAt(i) != '\t') {
        i++;
      }
      if (i > start) {
        out.add(s.substring(start, i));
      }
    }
    return out.toArray(String[]::new);
  }

  /** A token for a message: at most 80 characters. */
  static String clip(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "…";
  }
}
