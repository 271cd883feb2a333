package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.OFFLINE_AFTER;
import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.narvault.core.http.HeadlessChromium;
import java.awt.image.BufferedImage;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive's dashboard in a real browser (Debian's headless chromium): the rendered page shows
 * the numbers {@code /metrics} reports (packs by fragments missing, the repair queue, holders by
 * state, bytes archived), and its charts are drawn. Skipped where chromium is missing.
 */
class ArchiveDashboardBrowserTest {

  @TempDir
  Path dir;

  private static String metric(String metrics, String name) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\d+)$").matcher(metrics);
    assertTrue(m.find(), "no metric " + name + " in\n" + metrics);
    return m.group(1);
  }

  @Test
  void archiveDashboard_inARealBrowser_showsWhatMetricsReport() throws Exception {
    assumeTrue(HeadlessChromium.installed(), "chromium is not installed (apt-get install chromium): skipped");
    HeadlessChromium chromium = new HeadlessChromium(dir);
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

      String dom = chromium.dom(page);
      assertEquals(metric(metrics, "narvault_packs_total"), HeadlessChromium.byId(dom, "packs-total"));
      assertEquals("3", HeadlessChromium.byId(dom, "packs-total"));
      assertEquals(metric(metrics, "narvault_packs_degraded"), HeadlessChromium.byId(dom, "packs-degraded"));
      assertEquals(metric(metrics, "narvault_repair_queue_packs"), HeadlessChromium.byId(dom, "repair-queue"));
      assertEquals(metric(metrics, "narvault_packs_by_missing_fragments{missing=\"0\"}"), HeadlessChromium.byId(dom, "missing-0"));
      assertEquals(metric(metrics, "narvault_packs_by_missing_fragments{missing=\"1\"}"), HeadlessChromium.byId(dom, "missing-1"));
      assertEquals(Long.toString(3 - short1), HeadlessChromium.byId(dom, "missing-0"));
      assertEquals(Long.toString(short1), HeadlessChromium.byId(dom, "missing-1"));
      assertTrue(short1 >= 1);
      assertEquals(metric(metrics, "narvault_holders{state=\"offline\"}"), HeadlessChromium.byId(dom, "holders-offline"));
      assertEquals(metric(metrics, "narvault_archive_bytes{state=\"archived\"}"), HeadlessChromium.byId(dom, "archived-bytes"));
      assertTrue(Long.parseLong(HeadlessChromium.byId(dom, "archived-bytes")) > 0, "the packs' NARs are in the journal");
      assertEquals("0", HeadlessChromium.byId(dom, "drained-bytes"));

      Path shot = dir.resolve("archive.png");
      BufferedImage image = chromium.screenshot(page, shot, 900, 1100);
      long bars = HeadlessChromium.barPixels(image);
      Files.copy(shot, Path.of(System.getProperty("java.io.tmpdir"), "narvault-archive-dashboard.png"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      assertTrue(bars > 3000, "the charts are drawn: " + bars + " pixels of the bars' colour");

      HttpClient http = HttpClient.newHttpClient();
      assertEquals(404, http.send(HttpRequest.newBuilder(page.resolve("/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode(), "the dashboard serves its page only");
    }
  }
}
