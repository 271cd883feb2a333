/**
 * Disaster recovery: {@link dev.narvault.repair.rebuild.CatalogRebuild} rebuilds a lost catalog
 * from the signed manifests and alias documents the holders store, streaming. Start there; its
 * steps are {@link dev.narvault.repair.rebuild.HolderListings} (every listing, sorted on disk),
 * {@link dev.narvault.repair.rebuild.DocumentFinder} (which listed ids are documents),
 * {@link dev.narvault.repair.rebuild.DocumentSpill} (documents kept on disk as found) and
 * {@link dev.narvault.repair.rebuild.RebuildProgress} (the progress line).
 */
package dev.narvault.repair.rebuild;
