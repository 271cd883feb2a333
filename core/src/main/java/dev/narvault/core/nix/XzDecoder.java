package dev.narvault.core.nix;

import java.io.IOException;
import java.io.InputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tukaani.xz.XZInputStream;

/**
 * Opens {@code .xz} streams through the system's liblzma ({@link LiblzmaInputStream}) when it
 * can be loaded, else through xz-java ({@link XZInputStream}), chosen once per JVM. Both decode
 * the same inputs to the same bytes and fail on the same ones (LiblzmaInputStreamTest);
 * liblzma is about 1.5 times as fast (docs/performance.md, "Migration against a plain S3 read").
 *
 * <p>{@code -Dnarvault.xz=java} forces xz-java (for measuring, or should liblzma misbehave);
 * {@code -Dnarvault.xz=liblzma}, the default, uses liblzma where it loads: Linux with
 * {@code liblzma.so.5} and native access allowed ({@code --enable-native-access=ALL-UNNAMED},
 * which the launcher passes).
 */
final class XzDecoder {
  private static final Logger LOG = LoggerFactory.getLogger(XzDecoder.class);
  static final boolean LIBLZMA = chooseLiblzma(System.getProperty("narvault.xz", "liblzma"));

  private XzDecoder() {}

  /** The decompressed contents of {@code in}; closing the result closes {@code in}. */
  static InputStream open(InputStream in, int memoryLimitKiB) throws IOException {
    return LIBLZMA ? new LiblzmaInputStream(in, memoryLimitKiB) : new XZInputStream(in, memoryLimitKiB);
  }

  static boolean chooseLiblzma(String choice) {
    switch (choice) {
      case "java" -> {
        LOG.debug("xz decoding through xz-java (-Dnarvault.xz=java)");
        return false;
      }
      case "liblzma" -> {
        if (Liblzma.UNAVAILABLE != null) {
          LOG.debug("xz decoding through xz-java: liblzma cannot be used ({})", Liblzma.UNAVAILABLE);
          return false;
        }
        LOG.debug("xz decoding through liblzma {}", Liblzma.version());
        return true;
      }
      default -> throw new IllegalArgumentException("narvault.xz must be java or liblzma: " + choice);
    }
  }
}
