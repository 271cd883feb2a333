package dev.narvault.encoder.input;

import java.util.Iterator;
import java.util.regex.Pattern;

/**
 * A run's narinfo keys ({@code <hash>.narinfo}), one after another: from a listing of the bucket
 * ({@link NarInfoListing}, in key order) or from files ({@link KeyFiles}, in their order). Close
 * it to stop early. A failure to read the input surfaces as an {@link InputFailedException} from
 * {@link #hasNext()}; input that is malformed, as an {@link IllegalArgumentException} naming the
 * file and line.
 */
public interface NarInfoKeys extends Iterator<String>, AutoCloseable {
  /** A narinfo's key at the top of a binary cache. */
  Pattern NARINFO_KEY = Pattern.compile("[0-9a-df-np-sv-z]{32}\\.narinfo");

  @Override
  void close();
}
