/**
 * The retrieval gateway: an HTTP Nix substituter. {@link dev.narvault.gateway.archive} reads
 * archived NARs back from fragments (verified, decoding around missing or lying holders);
 * {@link dev.narvault.gateway.server} is the Netty server that answers Nix and falls back to S3.
 */
package dev.narvault.gateway;
