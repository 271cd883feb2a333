package dev.narvault.core.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;

/**
 * JSON for protocol messages, strictly: a message is one JSON value that maps onto its record with
 * no unknown, missing or null field, no string standing in for a number, no fraction for an
 * integer and nothing after it. Records validate their own values in their constructors; whatever
 * is wrong comes out as one {@link IllegalArgumentException} naming the message and the problem,
 * which servers answer with 400.
 */
public final class JsonCodec {
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .build();
  /**
   * For answers that only inform (a holder's standing): a newer sender's extra fields are
   * ignored and an older one's missing numbers read as 0, so that a coordinator and its holders
   * can be upgraded one at a time. Values are still checked by the records.
   */
  private static final ObjectMapper TOLERANT = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .disable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .build();

  private JsonCodec() {}

  /** The message as compact JSON. */
  public static byte[] toJson(Object message) {
    try {
      return JSON.writeValueAsBytes(message);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + message.getClass().getSimpleName(), e);
    }
  }

  /** Parses a message; anything malformed is an IllegalArgumentException naming the problem. */
  public static <T> T parse(byte[] json, Class<T> type) {
    return parse(JSON, json, type);
  }

  /**
   * Parses an informative answer tolerantly: unknown fields ignored, missing numbers 0 (see
   * {@link #TOLERANT}); never for a message anything is decided on.
   */
  public static <T> T parseTolerant(byte[] json, Class<T> type) {
    return parse(TOLERANT, json, type);
  }

  private static <T> T parse(ObjectMapper mapper, byte[] json, Class<T> type) {
    try {
      T value = mapper.readValue(json, type);
      if (value == null) {
        throw new IllegalArgumentException("empty " + type.getSimpleName());
      }
      return value;
    } catch (IOException e) {
      Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
      String message = cause instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : cause.getMessage();
      int hint = message == null ? -1 : message.indexOf("; `");
      message = hint > 0 ? message.substring(0, hint) : message;
      throw new IllegalArgumentException("malformed " + type.getSimpleName() + ": " + message, e);
    }
  }
}
