package dev.narvault.core.pack;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.TrustedKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Canonical JSON for manifests, their signatures and pack ids. Canonical means: UTF-8, no
 * whitespace, object keys sorted, integers as plain decimals, Jackson's minimal string escapes.
 * The same manifest always gives the same bytes, so a signature over them pins every field.
 */
public final class ManifestCodec {
  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .disable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .build();

  private ManifestCodec() {}

  public static byte[] canonical(Manifest manifest) {
    try {
      return MAPPER.writeValueAsBytes(manifest);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise manifest", e);
    }
  }

  /** Parses a manifest; malformed or inconsistent input gives an IllegalArgumentException. */
  public static Manifest parse(byte[] json) {
    return read(json, Manifest.class, "manifest");
  }

  /** The pack's id: SHA-256 of the canonical manifest, hex. */
  public static PackId packId(Manifest manifest) {
    return new PackId(Sha256Hash.of(canonical(manifest)).toHex());
  }

  public static SignedManifest sign(Manifest manifest, NixSecretKey key) {
    String text = new String(canonical(manifest), StandardCharsets.UTF_8);
    return new SignedManifest(manifest, List.of(key.signLine(text)));
  }

  public static byte[] toBytes(SignedManifest signed) {
    try {
      return MAPPER.writeValueAsBytes(signed);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise signed manifest", e);
    }
  }

  public static SignedManifest parseSigned(byte[] json) {
    return read(json, SignedManifest.class, "signed manifest");
  }

  /**
   * Parses a signed manifest and checks its signature over the canonical form of what was parsed.
   *
   * @throws SignatureVerificationException when no trusted key signed exactly this manifest
   */
  public static Manifest verify(byte[] signedJson, TrustedKeys keys) throws SignatureVerificationException {
    SignedManifest signed = parseSigned(signedJson);
    String text = new String(canonical(signed.manifest()), StandardCharsets.UTF_8);
    keys.verify(text, signed.signatures(), "manifest of pack " + packId(signed.manifest()));
    return signed.manifest();
  }

  /** Signs an alias document (see {@link SignedAlias}). */
  public static SignedAlias signAlias(SignedAlias.Alias alias, NixSecretKey key) {
    return new SignedAlias(alias, List.of(key.signLine(canonicalText(alias))));
  }

  public static byte[] toBytes(SignedAlias signed) {
    try {
      return MAPPER.writeValueAsBytes(signed);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise signed alias", e);
    }
  }

  /**
   * Parses a signed alias and checks its signature.
   *
   * @throws SignatureVerificationException when no trusted key signed exactly this alias
   */
  public static SignedAlias.Alias verifyAlias(byte[] signedJson, TrustedKeys keys)
      throws SignatureVerificationException {
    SignedAlias signed = read(signedJson, SignedAlias.class, "signed alias");
    keys.verify(canonicalText(signed.alias()), signed.signatures(), "alias of pack " + signed.alias().packId());
    return signed.alias();
  }

  /** Signs a tombstone document (see {@link SignedTombstone}). */
  public static SignedTombstone signTombstone(SignedTombstone.Tombstone tombstone, NixSecretKey key) {
    return new SignedTombstone(tombstone, List.of(key.signLine(canonicalText(tombstone))));
  }

  public static byte[] toBytes(SignedTombstone signed) {
    try {
      return MAPPER.writeValueAsBytes(signed);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise signed tombstone", e);
    }
  }

  /**
   * Parses a signed tombstone and checks its signature.
   *
   * @throws SignatureVerificationException when no trusted key signed exactly this tombstone
   */
  public static SignedTombstone.Tombstone verifyTombstone(byte[] signedJson, TrustedKeys keys)
      throws SignatureVerificationException {
    SignedTombstone signed = read(signedJson, SignedTombstone.class, "signed tombstone");
    keys.verify(canonicalText(signed.forgotten()), signed.signatures(),
        "tombstone of " + signed.forgotten().storeHash());
    return signed.forgotten();
  }

  private static String canonicalText(Object value) {
    try {
      return new String(MAPPER.writeValueAsBytes(value), StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  /** What a stored document is, from its first bytes: a signed manifest, alias or tombstone, or none. */
  public enum DocumentKind {
    MANIFEST("{\"manifest\":{"), ALIAS("{\"alias\":{"), TOMBSTONE("{\"forgotten\":{"), NONE("");

    private final String prefix;

    DocumentKind(String prefix) {
      this.prefix = prefix;
    }

    public static DocumentKind of(byte[] start) {
      String head = new String(start, StandardCharsets.UTF_8);
      for (DocumentKind k : List.of(MANIFEST, ALIAS, TOMBSTONE)) {
        if (head.startsWith(k.prefix)) {
          return k;
        }
      }
      return NONE;
    }

    /** Bytes enough to tell. */
    public static final int PREFIX_BYTES = 16;
  }

  private static <T> T read(byte[] json, Class<T> type, String what) {
    try {
      T value;
      if (type == Manifest.class || type == SignedManifest.class) {
        // "replaces" is left out when null (older manifests never had it), and every creator
        // property must be present: a missing one is read as null.
        JsonNode tree = MAPPER.readTree(json);
        if (tree == null || !tree.isObject()) {
          throw new IllegalArgumentException("malformed " + what + ": not a JSON object");
        }
        JsonNode manifest = type == Manifest.class ? tree : tree.get("manifest");
        if (manifest instanceof ObjectNode object && !object.has("replaces")) {
          object.putNull("replaces");
        }
        value = MAPPER.treeToValue(tree, type);
      } else {
        value = MAPPER.readValue(json, type);
      }
      if (value == null) {
        throw new IllegalArgumentException("malformed " + what + ": empty or null");
      }
      return value;
    } catch (IOException e) {
      Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
      throw new IllegalArgumentException("malformed " + what + ": " + cause.getMessage(), e);
    }
  }
}
