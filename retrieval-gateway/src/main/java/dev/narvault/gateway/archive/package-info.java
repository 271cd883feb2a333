/**
 * Reading archived NARs: {@link dev.narvault.gateway.archive.Archive} looks a NAR up in the
 * catalog, loads (and checks) its pack's manifest, and streams the NAR's bytes from the holders
 * through {@link dev.narvault.core.pack.PackReader}.
 */
package dev.narvault.gateway.archive;
