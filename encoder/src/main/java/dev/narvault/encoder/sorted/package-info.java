/**
 * Sets and maps of any size in bounded memory, as sorted files on disk: what a migrate run's
 * selection lists ({@code --paths}, {@code --exclude}: up to ~10^8 store hashes) and an
 * inventory's NAR ages become. Start with {@link dev.narvault.encoder.sorted.SortedRecordFile}
 * (the external sort and the lookups), then {@link dev.narvault.encoder.sorted.StoreHashSet}.
 */
package dev.narvault.encoder.sorted;
