/**
 * The one JSON codec for protocol messages: {@link dev.narvault.core.json.JsonCodec} turns the
 * message records of {@code core.coordinator} and {@code core.holder} into bytes and back, refusing
 * anything that is not exactly one of them.
 */
package dev.narvault.core.json;
