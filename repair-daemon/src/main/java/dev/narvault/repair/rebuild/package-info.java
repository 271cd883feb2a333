/**
 * Disaster recovery: {@link dev.narvault.repair.rebuild.CatalogRebuild} rebuilds a lost catalog
 * from the signed manifests and alias documents the holders store.
 */
package dev.narvault.repair.rebuild;
