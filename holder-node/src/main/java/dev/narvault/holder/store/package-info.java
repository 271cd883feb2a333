/**
 * Fragment storage. {@link dev.narvault.holder.store.FragmentStore} is the seam (disk, and faulty
 * wrappers in tests); {@link dev.narvault.holder.store.DiskFragmentStore} writes each fragment to a
 * temporary file, fsyncs it, checks its id, and renames it into place, so a crash never leaves a
 * partial fragment visible.
 */
package dev.narvault.holder.store;
