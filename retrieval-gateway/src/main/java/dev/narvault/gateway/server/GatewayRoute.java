package dev.narvault.gateway.server;

import dev.narvault.core.nix.NixBase32;
import dev.narvault.core.nix.StorePath;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.regex.Pattern;

/**
 * What a request asks the gateway for, parsed before anything is looked up: the method and URI
 * become one of these, or a {@link Refused} with the status to answer. Kept apart from the handler
 * so that it can be fuzzed on its own (every outside URI goes through it). Only keys made of the
 * characters a binary cache uses reach S3: no {@code ..}, no empty segments, no escapes left.
 */
sealed interface GatewayRoute {
  /** A NAR's file name: {@code <nix32 hash>.nar} and a compression suffix. */
  Pattern NAR_FILE = Pattern.compile("[0-9a-z]{1,128}\\.nar(\\.[a-z0-9]{1,8})?");
  /** Other objects Nix asks for: {@code <hash>.ls}, {@code log/<drv>}, {@code realisations/<id>.doi}. */
  Pattern OBJECT_KEY = Pattern.compile("[A-Za-z0-9+_=!:.-]{1,255}(/[A-Za-z0-9+_=!:.-]{1,255}){0,2}");

  /** {@code GET /metrics}. */
  record Metrics() implements GatewayRoute {}

  /** {@code GET /nix-cache-info}. */
  record CacheInfo() implements GatewayRoute {}

  /** {@code GET /<hash>.narinfo}; the hash is nix32. */
  record NarInfo(String hash) implements GatewayRoute {}

  /** {@code GET /nar/<file>}; key is {@code nar/<file>}. */
  record Nar(String key) implements GatewayRoute {}

  /** Any other object of the cache, served from S3 as it is. */
  record Proxy(String key) implements GatewayRoute {}

  /** Nothing to do: answer {@code status} with {@code message}. */
  record Refused(int status, String message) implements GatewayRoute {}

  /** Parses a request's method and URI; never throws. HEAD routes like GET. */
  static GatewayRoute parse(String method, String uri) {
    if (!method.equals("GET") && !method.equals("HEAD")) {
      // Nix tries PUT /nix-cache-info when the GET fails; this cache is read-only.
      return new Refused(405, "read-only binary cache");
    }
    String path;
    try {
      path = new QueryStringDecoder(uri).path();
    } catch (IllegalArgumentException e) {
      return new Refused(400, "malformed URI");
    }
    if (path.equals("/metrics")) {
      return new Metrics();
    }
    if (path.equals("/nix-cache-info")) {
      return new CacheInfo();
    }
    if (path.endsWith(".narinfo") && path.length() == 1 + StorePath.HASH_PART_LENGTH + ".narinfo".length()) {
      String hash = path.substring(1, 1 + StorePath.HASH_PART_LENGTH);
      return NixBase32.isNix32(hash) ? new NarInfo(hash) : new Refused(404, "not found");
    }
    if (path.startsWith("/nar/")) {
      return NAR_FILE.matcher(path.substring(5)).matches() ? new Nar(path.substring(1)) : new Refused(404, "not found");
    }
    String key = path.length() > 1 ? path.substring(1) : "";
    if (OBJECT_KEY.matcher(key).matches() && !key.contains("..")) {
      return new Proxy(key);
    }
    return new Refused(404, "not found");
  }
}
