package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.Order;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.core.http.HeadlessChromium;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The volunteer's dashboard in a real browser (Debian's headless chromium): the page the browser
 * renders carries the numbers of the holder's own {@code /v1/status} and {@code /metrics}, and the
 * charts are drawn (a screenshot has the bars' colour in it). Skipped where chromium is missing.
 */
class DashboardBrowserTest {
  private static final int BLOCK = 4096;

  @TempDir
  Path dir;

  private static long metric(String metrics, String name) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\d+)$").matcher(metrics);
    assertTrue(m.find(), "no metric " + name);
    return Long.parseLong(m.group(1));
  }

  @Test
  void dashboard_inARealBrowser_showsTheHoldersOwnNumbers_andDrawsItsCharts() throws Exception {
    assumeTrue(HeadlessChromium.installed(), "chromium is not installed (apt-get install chromium): skipped");
    HeadlessChromium chromium = new HeadlessChromium(dir);
    HolderConfig config = HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), dir.resolve("data"), 64L << 20,
            HolderServerTest.COORDINATOR.publicKey())
        .withUploadQuota(64L << 20)
        .withDashboard(Optional.of(new InetSocketAddress("127.0.0.1", 0)));
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    try (HolderServer holder = HolderServer.start(config)) {
      // Some fragments stored and read back: storage used and bytes served to show.
      for (int i = 0; i < 3; i++) {
        byte[] bytes = TestFragments.bytes(200_000 + i * 1000, i);
        FragmentId id = TestFragments.idOf(bytes, BLOCK);
        Path file = Files.write(dir.resolve("f" + i), bytes);
        client.put(holder.endpoint(), id, BLOCK, file, new Order(Order.Action.PUT, id, bytes.length, BLOCK,
            holder.holderId(), Instant.now().plusSeconds(600)).signWith(HolderServerTest.COORDINATOR));
        client.read(holder.endpoint(), id, 0, bytes.length);
      }
      URI page = holder.dashboardEndpoint().orElseThrow();
      HolderMessages.Status status = client.status(holder.endpoint());
      String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create(holder.endpoint() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();

      String dom = chromium.dom(page);
      assertEquals(holder.holderId(), HeadlessChromium.byId(dom, "holder-id"));
      assertEquals(Long.toString(status.usedBytes()), HeadlessChromium.byId(dom, "used-bytes"));
      assertEquals(Long.toString(status.capacityBytes()), HeadlessChromium.byId(dom, "capacity-bytes"));
      assertEquals(Integer.toString(status.fragments()), HeadlessChromium.byId(dom, "fragments"));
      assertEquals(Long.toString(metric(metrics, "narvault_holder_served_bytes_total")), HeadlessChromium.byId(dom, "served-bytes"));
      assertTrue(metric(metrics, "narvault_holder_served_bytes_total") >= 600_000, "bytes were served");
      assertEquals(status.standing().state(), HeadlessChromium.byId(dom, "state"), "the standing of /v1/status");
      assertEquals(Long.toString(status.uploadQuota().servedBytes()), HeadlessChromium.byId(dom, "month-served-bytes"));
      assertEquals(Long.toString(metric(metrics, "narvault_holder_month_served_bytes")),
          HeadlessChromium.byId(dom, "month-served-bytes"), "the month's count of /metrics");
      assertEquals(Long.toString(64L << 20), HeadlessChromium.byId(dom, "upload-quota-bytes"));
      assertTrue(dom.contains("id=\"upload-quota-chart\""), "the quota's meter");
      assertTrue(dom.contains("id=\"bandwidth-hours\"") && dom.contains("id=\"bandwidth-days\""));

      Path shot = dir.resolve("dashboard.png");
      BufferedImage image = chromium.screenshot(page, shot, 900, 900);
      long bars = HeadlessChromium.barPixels(image);
      Files.copy(shot, Path.of(System.getProperty("java.io.tmpdir"), "narvault-holder-dashboard.png"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      // This hour's bar and today's fill their charts' height (nothing else was served): thousands of pixels.
      assertTrue(bars > 3000, "the charts are drawn: " + bars + " pixels of the bars' colour");
    }
  }

  @Test
  void dashboard_answersOnlyGetOfThePage() throws Exception {
    HolderConfig config = HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), dir.resolve("data"), 1L << 20,
            HolderServerTest.COORDINATOR.publicKey())
        .withSpeeds(8L << 20, 0)
        .withDashboard(Optional.of(new InetSocketAddress("127.0.0.1", 0)));
    try (HolderServer holder = HolderServer.start(config)) {
      URI page = holder.dashboardEndpoint().orElseThrow();
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> ok = http.send(HttpRequest.newBuilder(page).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ok.statusCode());
      assertTrue(ok.body().contains("<svg id=\"bandwidth-hours\""));
      assertTrue(ok.body().contains("no answer from the coordinator yet"), "the standing before any answer");
      assertTrue(ok.body().contains("class=\"cap\"") && ok.body().contains("upload cap 8.0 MiB/s"),
          "the upload cap is drawn on the charts");
      assertEquals(404, http.send(HttpRequest.newBuilder(page.resolve("/etc/passwd")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode());
      assertEquals(405, http.send(HttpRequest.newBuilder(page).POST(HttpRequest.BodyPublishers.ofString("x")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode());
    }
  }
}
