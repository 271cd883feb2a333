package dev.narvault.core.pack;

/**
 * A run of bytes inside one fragment: {@code length} bytes at {@code fragmentOffset} of fragment
 * {@code fragmentIndex}, which are pack bytes starting at {@code packOffset}.
 */
public record FragmentRange(int fragmentIndex, long fragmentOffset, long length, long packOffset) {
  public FragmentRange {
    if (fragmentIndex < 0 || fragmentOffset < 0 || length < 1 || packOffset < 0) {
      throw new IllegalArgumentException("bad fragment range " + fragmentIndex + "@" + fragmentOffset + "+" + length);
    }
  }
}
