/**
 * The retrieval gateway: an HTTP Nix substituter. {@link dev.narvault.gateway.server} is the Netty
 * server that answers Nix, reading archived NARs through {@link dev.narvault.core.archive.Archive}
 * (verified, decoding around missing or lying holders) and falling back to S3.
 */
package dev.narvault.gateway;
