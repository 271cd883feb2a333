/**
 * The holder node: a volunteer's fragment server. {@link dev.narvault.holder.server.HolderServer}
 * is the Netty HTTP server (bootstrap, pipeline, handler); {@link dev.narvault.holder.store}
 * keeps fragments on disk, content-addressed, written atomically.
 */
package dev.narvault.holder;
