/**
 * Sets and maps of fixed-width records of any size in bounded memory, as sorted files on disk:
 * a migrate run's selection lists and NAR ages, and a catalog rebuild's listings of every holder.
 * Start with {@link dev.narvault.core.sorted.SortedRecordFile}.
 */
package dev.narvault.core.sorted;
