package dev.narvault.core.erasure;

import java.util.Arrays;
import java.util.Locale;

/** Makes {@link Codec}s by name. */
public final class Codecs {
  /** The codec implementations narvault knows. */
  public enum Kind {
    /** The JDK Vector API codec, {@link VectorCodec}: the default where the Vector API exists. */
    VECTOR,
    /** Backblaze JavaReedSolomon, {@link BackblazeCodec}: the reference. */
    BACKBLAZE;

    public static Kind parse(String name) {
      try {
        return valueOf(name.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown codec '" + name + "', expected one of "
            + Arrays.toString(values()).toLowerCase(Locale.ROOT), e);
      }
    }
  }

  private Codecs() {}

  public static Codec create(Kind kind, int dataFragmentCount, int parityFragmentCount) {
    return switch (kind) {
      case VECTOR -> new VectorCodec(dataFragmentCount, parityFragmentCount);
      case BACKBLAZE -> new BackblazeCodec(dataFragmentCount, parityFragmentCount);
    };
  }

  /** The best codec available on this JVM: {@link Kind#VECTOR}, else {@link Kind#BACKBLAZE}. */
  public static Codec create(int dataFragmentCount, int parityFragmentCount) {
    return create(defaultKind(), dataFragmentCount, parityFragmentCount);
  }

  /**
   * {@link Kind#VECTOR} when the JVM was started with {@code --add-modules jdk.incubator.vector},
   * else {@link Kind#BACKBLAZE}.
   */
  public static Kind defaultKind() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? Kind.VECTOR : Kind.BACKBLAZE;
  }

  /**
   * Compiles the vector kernel on a daemon thread ({@link VectorCodec#warmUp()}), so that the first
   * requests of a long-running command do not run it as C1 code; nothing when the vector codec is
   * not available.
   */
  public static void warmUpInBackground() {
    if (defaultKind() == Kind.VECTOR) {
      Thread.ofPlatform().daemon().name("codec-warm-up").start(VectorCodec::warmUp);
    }
  }
}
