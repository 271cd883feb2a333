/**
 * The gateway's HTTP/1.1 server on Netty: {@link GatewayServer} (bootstrap, shutdown),
 * {@link GatewayServerInitializer} (pipeline), {@link GatewayServerHandler} (what Nix asks and
 * where the answer comes from), {@link ArchivedNarResponder} (archived NARs from the cache or the
 * holders), {@link S3Proxy} (everything else, from S3), {@link Exchange} (one request and its
 * short answers), {@link ResponseBodyStream} (streams verified bytes, headers sent with the first).
 * {@link RebuiltNarCache} keeps rebuilt NARs on disk; {@link RebuildRelay} is one rebuild that any
 * number of clients follow, each at its own speed.
 */
package dev.narvault.gateway.server;
