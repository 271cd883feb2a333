/**
 * Reading archived NARs back: {@link dev.narvault.core.archive.Archive} looks a NAR up in the
 * catalog and reads its bytes from the holders, every block verified (decoding around missing or
 * lying holders). The gateway serves from it; migrate reads drained NARs back through it before
 * it deletes them from S3.
 */
package dev.narvault.core.archive;
