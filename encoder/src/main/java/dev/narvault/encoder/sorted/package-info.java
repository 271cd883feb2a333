/**
 * Sets of store path hashes of any size in bounded memory, as sorted files on disk: what a
 * migrate run's selection lists ({@code --paths}, {@code --exclude}: up to ~10^8 store hashes)
 * become. Start with {@link dev.narvault.encoder.sorted.StoreHashSet}; the external sort and the
 * lookups are {@link dev.narvault.core.sorted.SortedRecordFile}.
 */
package dev.narvault.encoder.sorted;
