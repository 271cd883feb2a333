package dev.narvault.core.erasure;

import java.util.Locale;

/** Makes {@link Codec}s by name. */
public final class Codecs {
  /** The codec implementations narvault knows. */
  public enum Kind {
    BACKBLAZE;

    public static Kind parse(String name) {
      try {
        return valueOf(name.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown codec '" + name + "', expected one of "
            + java.util.Arrays.toString(values()).toLowerCase(Locale.ROOT), e);
      }
    }
  }

  private Codecs() {}

  public static Codec create(Kind kind, int dataFragmentCount, int parityFragmentCount) {
    return switch (kind) {
      case BACKBLAZE -> new BackblazeCodec(dataFragmentCount, parityFragmentCount);
    };
  }

  /** The best codec available on this JVM. */
  public static Codec create(int dataFragmentCount, int parityFragmentCount) {
    return create(Kind.BACKBLAZE, dataFragmentCount, parityFragmentCount);
  }
}
