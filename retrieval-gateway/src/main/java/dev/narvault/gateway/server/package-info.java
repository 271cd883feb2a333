/**
 * The gateway's HTTP/1.1 server on Netty: {@link GatewayServer} (bootstrap, shutdown),
 * {@link GatewayServerInitializer} (pipeline), {@link GatewayServerHandler} (what Nix asks and
 * what it gets), {@link ResponseBodyStream} (streams verified bytes, headers sent with the first).
 */
package dev.narvault.gateway.server;
