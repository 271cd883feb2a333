package dev.narvault.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/**
 * {@code --config FILE}: a JSON object of a command's options by long name without the dashes
 * (e.g. {@code {"port": 7070, "data-dir": "/var/lib/narvault-holder", "worker-public-key": ["a",
 * "b"]}}), read before the command line is parsed; options given on the command line win. A value
 * may also come from elsewhere, so that secrets never stand in argv or in a world-readable file:
 * {@code {"env": "NAME"}} reads an environment variable, {@code {"file": "PATH"}} a file's contents
 * (trimmed), {@code {"path": "PATH"}} is the path itself, for options that take a file (a key);
 * {@code ${NAME}} in such a path is an environment variable (e.g.
 * {@code ${CREDENTIALS_DIRECTORY}/catalog} under systemd's {@code LoadCredential}). Booleans turn
 * a flag on or leave it off. Unknown names are refused by the command, like unknown flags.
 */
final class ConfigFile {
  private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");
  /** Config files are small; anything larger is a mistake. */
  private static final long MAX_BYTES = 1 << 20;

  /** The option, for --help; {@link #expand} does the work before parsing. */
  static final class Mixin {
    @Option(names = "--config", paramLabel = "FILE",
        description = "Read options from this JSON file ({\"port\": 7070, \"data-dir\": \"…\"}; for secrets a value "
            + "may be {\"env\": \"NAME\"}, {\"file\": \"PATH\"} (its contents) or {\"path\": \"${NAME}/key\"}); options on "
            + "the command line win.")
    Path config;
  }

  private ConfigFile() {}

  /** {@code args} with the options of any {@code --config FILE} in them added, the environment being {@code env}. */
  static String[] expand(String[] args, UnaryOperator<String> env) {
    String file = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        file = args[i + 1];
      } else if (args[i].startsWith("--config=")) {
        file = args[i].substring("--config=".length());
      }
    }
    if (file == null) {
      return args;
    }
    JsonNode root = read(Path.of(file));
    List<String> out = new ArrayList<>(List.of(args));
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      if (!name.matches("[a-z0-9][a-z0-9-]*") || name.equals("config")) {
        throw new IllegalArgumentException(file + ": \"" + name + "\" is not an option name (e.g. \"data-dir\")");
      }
      if (given(args, "--" + name)) {
        continue;
      }
      JsonNode value = e.getValue();
      if (value.isBoolean()) {
        if (value.booleanValue()) {
          out.add("--" + name);
        }
      } else if (value.isArray()) {
        for (JsonNode v : value) {
          out.add("--" + name);
          out.add(scalar(file, name, v, env));
        }
      } else {
        out.add("--" + name);
        out.add(scalar(file, name, value, env));
      }
    }
    return out.toArray(String[]::new);
  }

  static String[] expand(String[] args) {
    return expand(args, System::getenv);
  }

  private static boolean given(String[] args, String option) {
    for (String a : args) {
      if (a.equals(option) || a.startsWith(option + "=")) {
        return true;
      }
    }
    return false;
  }

  private static String scalar(String file, String name, JsonNode v, UnaryOperator<String> env) {
    if (v.isTextual() || v.isNumber()) {
      return v.asText();
    }
    if (v.isObject() && v.size() == 1 && v.has("env") && v.get("env").isTextual()) {
      String value = env.apply(v.get("env").asText());
      if (value == null) {
        throw new IllegalArgumentException(file + ": \"" + name + "\" is to come from the environment variable "
            + v.get("env").asText() + ", which is not set");
      }
      return value;
    }
    if (v.isObject() && v.size() == 1 && v.has("path") && v.get("path").isTextual()) {
      return substitute(file, name, v.get("path").asText(), env);
    }
    if (v.isObject() && v.size() == 1 && v.has("file") && v.get("file").isTextual()) {
      Path path = Path.of(substitute(file, name, v.get("file").asText(), env));
      try {
        return Files.readString(path).strip();
      } catch (IOException e) {
        throw new IllegalArgumentException(file + ": \"" + name + "\" is to come from " + path + ", which cannot be "
            + "read: " + e.getMessage(), e);
      }
    }
    throw new IllegalArgumentException(file + ": \"" + name + "\" must be a string, a number, a boolean, a list of "
        + "those, {\"env\": \"NAME\"}, {\"file\": \"PATH\"} or {\"path\": \"PATH\"}, got " + v);
  }

  private static String substitute(String file, String name, String path, UnaryOperator<String> env) {
    Matcher m = VARIABLE.matcher(path);
    StringBuilder b = new StringBuilder();
    while (m.find()) {
      String value = env.apply(m.group(1));
      if (value == null) {
        throw new IllegalArgumentException(file + ": the path of \"" + name + "\" names ${" + m.group(1)
            + "}, which is not set");
      }
      m.appendReplacement(b, Matcher.quoteReplacement(value));
    }
    m.appendTail(b);
    return b.toString();
  }

  private static JsonNode read(Path file) {
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new IllegalArgumentException(file + " is larger than " + MAX_BYTES + " bytes: not a config file");
      }
      JsonNode root = new ObjectMapper().readTree(Files.readAllBytes(file));
      if (root == null || !root.isObject()) {
        throw new IllegalArgumentException(file + " must hold one JSON object of options");
      }
      return root;
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read config file " + file + ": " + e.getMessage(), e);
    }
  }
}
