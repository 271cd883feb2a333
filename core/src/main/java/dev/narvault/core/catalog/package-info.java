/**
 * The catalog: which packs exist (with their signed manifests), which holder has which fragment,
 * and where every archived NAR lies. JDBC over SQLite (embedded default) or PostgreSQL, one schema
 * written in the SQL both speak. Start with {@link dev.narvault.core.catalog.Catalog}, a thin
 * facade whose parts each keep one feature (holders, NARs, packs, documents, fragment custody,
 * repair claims, placement orders, the migration journal, pending packs, trashed copies); the
 * schema and its versions are in {@link dev.narvault.core.catalog.Schema}.
 */
package dev.narvault.core.catalog;
