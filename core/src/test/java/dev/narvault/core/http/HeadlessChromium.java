package dev.narvault.core.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * Debian's chromium, headless, for the dashboards' browser tests: the DOM it renders for a page
 * and a screenshot of it. Tests skip where {@link #installed()} is false.
 */
public final class HeadlessChromium {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

  private final Path profile;

  /** @param scratch a directory of the test's own, for the browser's profile */
  public HeadlessChromium(Path scratch) {
    this.profile = scratch.resolve("chromium-profile");
  }

  public static boolean installed() {
    return Files.isExecutable(CHROMIUM);
  }

  /** The page's DOM after chromium rendered it. */
  public String dom(URI page) throws Exception {
    return run(List.of("--dump-dom"), page);
  }

  /** A screenshot of the page, {@code width} × {@code height}. */
  public BufferedImage screenshot(URI page, Path file, int width, int height) throws Exception {
    run(List.of("--screenshot=" + file, "--window-size=" + width + "," + height, "--hide-scrollbars"), page);
    BufferedImage image = ImageIO.read(file.toFile());
    if (image == null) {
      throw new IOException("chromium wrote no image to " + file);
    }
    return image;
  }

  private String run(List<String> args, URI page) throws Exception {
    List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--user-data-dir=" + profile));
    command.addAll(args);
    command.add(page.toString());
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish");
    assertEquals(0, p.exitValue(), "chromium failed");
    return new String(out, StandardCharsets.UTF_8);
  }

  /** The text of the element with this id in {@code dom}; fails when there is none. */
  public static String byId(String dom, String id) {
    Matcher m = Pattern.compile("id=\"" + Pattern.quote(id) + "\"[^>]*>([^<]*)<").matcher(dom);
    assertTrue(m.find(), "no element " + id + " in the page");
    return m.group(1);
  }

  /** Pixels of the dashboards' bar colour ({@code #36c}, give or take anti-aliasing) in {@code image}. */
  public static long barPixels(BufferedImage image) {
    long bars = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int rgb = image.getRGB(x, y) & 0xffffff;
        if (Math.abs((rgb >> 16) - 0x33) < 24 && Math.abs(((rgb >> 8) & 0xff) - 0x66) < 24
            && Math.abs((rgb & 0xff) - 0xcc) < 24) {
          bars++;
        }
      }
    }
    return bars;
  }
}
