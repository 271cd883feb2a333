package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.OFFLINE_AFTER;
import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive's dashboard in a real browser (Debian's headless chromium): the rendered page shows
 * the numbers {@code /metrics} reports (packs by fragments missing, the repair queue, holders by
 * state, bytes archived), and its charts are drawn. Skipped where chromium is missing.
 */
class ArchiveDashboardBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

  @TempDir
  Path dir;

  private String chromium(List<String> args, URI page) throws Exception {
    List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--user-data-dir=" + dir.resolve("chromium-profile")));
    command.addAll(args);
    command.add(page.toString());
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish");
    assertEquals(0, p.exitValue(), "chromium failed");
    return new String(out, StandardCharsets.UTF_8);
  }

  private static String byId(String dom, String id) {
    Matcher m = Pattern.compile("id=\"" + Pattern.quote(id) + "\"[^>]*>([^<]*)<").matcher(dom);
    assertTrue(m.find(), "no element " + id + " in the page");
    return m.group(1);
  }

  private static String metric(String metrics, String name) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\d+)$").matcher(metrics);
    assertTrue(m.find(), "no metric " + name + " in\n" + metrics);
    return m.group(1);
  }

  @Test
  void archiveDashboard_inARealBrowser_showsWhatMetricsReport() throws Exception {
    assumeTrue(Files.isExecutable(CHROMIUM), "chromium is not installed (apt-get install chromium): skipped");
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      List<CoordinatorFixture.Pack> packs = List.of(f.placePack(41), f.placePack(42), f.placePack(43));
      // One holder of the first pack goes silent: each pack it holds a fragment of is one short once
      // it counts as offline.
      CoordinatorFixture.Holder silent = f.holderOf(packs.getFirst(), 0);
      f.silence(silent);
      long short1 = 0;
      for (CoordinatorFixture.Pack p : packs) {
        short1 += f.catalog.placements(p.id()).stream()
            .anyMatch(r -> r.holderId().equals(silent.id())) ? 1 : 0;
      }
      f.elapse(OFFLINE_AFTER.plusMillis(1));
      f.coordinator.repairer().queue();
      f.coordinator.refreshArchiveTotals();
      String metrics = f.coordinator.metrics().render();
      URI page = f.coordinator.startDashboard(new InetSocketAddress("127.0.0.1", 0), 0.023);

      String dom = chromium(List.of("--dump-dom"), page);
      assertEquals(metric(metrics, "narvault_packs_total"), byId(dom, "packs-total"));
      assertEquals("3", byId(dom, "packs-total"));
      assertEquals(metric(metrics, "narvault_packs_degraded"), byId(dom, "packs-degraded"));
      assertEquals(metric(metrics, "narvault_repair_queue_packs"), byId(dom, "repair-queue"));
      assertEquals(metric(metrics, "narvault_packs_by_missing_fragments{missing=\"0\"}"), byId(dom, "missing-0"));
      assertEquals(metric(metrics, "narvault_packs_by_missing_fragments{missing=\"1\"}"), byId(dom, "missing-1"));
      assertEquals(Long.toString(3 - short1), byId(dom, "missing-0"));
      assertEquals(Long.toString(short1), byId(dom, "missing-1"));
      assertTrue(short1 >= 1);
      assertEquals(metric(metrics, "narvault_holders{state=\"offline\"}"), byId(dom, "holders-offline"));
      assertEquals(metric(metrics, "narvault_archive_bytes{state=\"archived\"}"), byId(dom, "archived-bytes"));
      assertTrue(Long.parseLong(byId(dom, "archived-bytes")) > 0, "the packs' NARs are in the journal");
      assertEquals("0", byId(dom, "drained-bytes"));

      Path shot = dir.resolve("archive.png");
      chromium(List.of("--screenshot=" + shot, "--window-size=900,1100", "--hide-scrollbars"), page);
      BufferedImage image = ImageIO.read(shot.toFile());
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
      Files.copy(shot, Path.of(System.getProperty("java.io.tmpdir"), "narvault-archive-dashboard.png"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      assertTrue(bars > 3000, "the charts are drawn: " + bars + " pixels of the bars' colour");

      HttpClient http = HttpClient.newHttpClient();
      assertEquals(404, http.send(HttpRequest.newBuilder(page.resolve("/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode(), "the dashboard serves its page only");
    }
  }
}
