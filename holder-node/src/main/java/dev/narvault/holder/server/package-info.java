/**
 * The holder's HTTP/1.1 server on Netty, in the usual four roles: {@link HolderServer} (bootstrap
 * and shutdown), {@link HolderServerInitializer} (the pipeline), {@link HolderServerHandler} (the
 * protocol of {@code docs/protocol.md}) and Netty's HTTP codec. Disk work runs on a separate
 * executor group, never on the event loop.
 */
package dev.narvault.holder.server;
