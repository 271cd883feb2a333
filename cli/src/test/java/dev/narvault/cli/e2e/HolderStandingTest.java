package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.repair.Coordinator;
import dev.narvault.repair.CoordinatorConfig;
import dev.narvault.repair.policy.HolderRules;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A holder learns its standing from each heartbeat's answer: its state and vetting progress,
 * scores, warnings it can act on. `/v1/status` shows it and `narvault holder-status` prints it.
 */
class HolderStandingTest {
  @TempDir
  Path dir;

  private final NixSecretKey coordinatorKey = NixSecretKey.generate("coordinator-1", new SecureRandom());

  @Test
  void heartbeatAnswer_tellsTheHolderItsStanding_withAWarningForAClockThatIsOff() throws Exception {
    // Vetting as a public coordinator has it: 100 audits over 3 days.
    CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0), coordinatorKey, List.of(),
        Optional.empty(), new HolderRules(Duration.ofHours(24), HolderRules.Vetting.DEFAULT), -1, Duration.ZERO,
        Duration.ZERO, 0, Duration.ofMinutes(5), dir.resolve("repair-work")).allowingPrivateHolders();
    // The holder's clock runs 90 s ahead: accepted (within 5 minutes), but worth a warning.
    InstantSource ahead = () -> Instant.now().plusSeconds(90);
    Path data = dir.resolve("holder");
    HolderConfig holderConfig = HolderConfig.of(new InetSocketAddress("127.0.4.1", 0), data, 1L << 30,
        coordinatorKey.publicKey()).withHeartbeat(Duration.ofMillis(200));
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"));
        Coordinator coordinator = Coordinator.start(config, catalog, InstantSource.system());
        HolderServer holder = HolderServer.start(holderConfig.withCoordinator(coordinator.endpoint()),
            DiskFragmentStore.open(data, 1L << 30), ahead)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (holder.standing().state().equals("unknown") && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      HolderMessages.Standing s = holder.standing();
      assertEquals(holder.holderId(), s.holderId());
      assertEquals("vetting", s.state());
      assertEquals(false, s.vetted());
      assertEquals(100, s.auditsToVet());
      assertEquals("127.0.4.1", s.provenAddress());
      assertTrue(s.clockSkewMillis() > 80_000 && s.clockSkewMillis() < 100_000, "skew " + s.clockSkewMillis());
      assertTrue(s.warnings().stream().anyMatch(w -> w.contains("ahead of the coordinator's")), s.warnings().toString());

      HolderMessages.Status status = new HolderClient(Duration.ofSeconds(5)).status(holder.endpoint());
      assertEquals("vetting", status.standing().state(), "the holder's /v1/status carries it");

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8))
          .execute("holder-status", "--data-dir", data.toString());
      String printed = out.toString(StandardCharsets.UTF_8);
      assertEquals(0, exit, printed);
      assertTrue(printed.contains("state:                vetting (vetting: "), printed);
      assertTrue(printed.contains("of 100 audits passed"), printed);
      assertTrue(printed.contains("ahead of the coordinator's"), printed);
    }
  }

  @Test
  void holderAway_declaresAnAbsence_holderStatusShowsIt_andBackEndsIt() throws Exception {
    CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0), coordinatorKey, List.of(),
        Optional.empty(), new HolderRules(Duration.ofHours(24), HolderRules.Vetting.NONE), -1, Duration.ZERO,
        Duration.ZERO, 0, Duration.ofMinutes(5), dir.resolve("repair-work")).allowingPrivateHolders();
    Path data = dir.resolve("holder");
    HolderConfig holderConfig = HolderConfig.of(new InetSocketAddress("127.0.5.1", 0), data, 1L << 30,
        coordinatorKey.publicKey()).withHeartbeat(Duration.ofMillis(200));
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"));
        Coordinator coordinator = Coordinator.start(config, catalog, InstantSource.system());
        HolderServer holder = HolderServer.start(holderConfig.withCoordinator(coordinator.endpoint()),
            DiskFragmentStore.open(data, 1L << 30), InstantSource.system())) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (holder.standing().state().equals("unknown") && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      String coordinatorUrl = coordinator.endpoint().toString();
      Run away = run("holder-away", "--data-dir", data.toString(), "--coordinator", coordinatorUrl, "--for", "2d");
      assertEquals(0, away.exit, away.text);
      assertTrue(away.text.contains("away until "), away.text);
      assertTrue(away.text.contains("away time left: 5d"), away.text);
      var recorded = catalog.holder(new dev.narvault.core.holder.HolderId(holder.holderId())).orElseThrow().away();
      long twoDays = Duration.ofDays(2).toMillis();
      assertTrue(Math.abs(recorded.untilMillis() - System.currentTimeMillis() - twoDays) < 60_000, recorded.toString());

      Run status = run("holder-status", "--data-dir", data.toString());
      assertTrue(status.text.contains("away until:"), status.text);

      Run tooLong = run("holder-away", "--data-dir", data.toString(), "--coordinator", coordinatorUrl, "--for", "8d");
      assertEquals(2, tooLong.exit, tooLong.text);
      Run both = run("holder-away", "--data-dir", data.toString(), "--coordinator", coordinatorUrl, "--for", "1d",
          "--back");
      assertEquals(2, both.exit, "--for and --back exclude each other");

      Run back = run("holder-away", "--data-dir", data.toString(), "--coordinator", coordinatorUrl, "--back");
      assertEquals(0, back.exit, back.text);
      assertTrue(back.text.contains("back; away time left: 6d") || back.text.contains("back; away time left: 7d"),
          "the unused part came back: " + back.text);
      assertEquals(0, catalog.holder(new dev.narvault.core.holder.HolderId(holder.holderId())).orElseThrow().away()
          .untilMillis());
    }
  }

  /**
   * The volunteer's dashboard with a real coordinator behind it, in a real browser: once vetted it
   * says so, shows the fragments it holds and what it served, and after a declared absence shows
   * the absence. The screenshot of the vetted page is the one docs/holder.md shows.
   */
  @Test
  void dashboard_ofAVettedHolder_inARealBrowser_showsItVetted_andItsAbsence() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(dev.narvault.core.http.HeadlessChromium.installed(),
        "chromium is not installed (apt-get install chromium): skipped");
    var chromium = new dev.narvault.core.http.HeadlessChromium(dir);
    CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0), coordinatorKey, List.of(),
        Optional.empty(), new HolderRules(Duration.ofHours(24), HolderRules.Vetting.NONE), -1, Duration.ZERO,
        Duration.ZERO, 0, Duration.ofMinutes(5), dir.resolve("repair-work")).allowingPrivateHolders();
    Path data = dir.resolve("holder");
    HolderConfig holderConfig = HolderConfig.of(new InetSocketAddress("127.0.6.1", 0), data, 1L << 30,
            coordinatorKey.publicKey()).withHeartbeat(Duration.ofMillis(200))
        .withDashboard(Optional.of(new InetSocketAddress("127.0.0.1", 0)));
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"));
        Coordinator coordinator = Coordinator.start(config, catalog, InstantSource.system());
        HolderServer holder = HolderServer.start(holderConfig.withCoordinator(coordinator.endpoint()),
            DiskFragmentStore.open(data, 1L << 30), InstantSource.system())) {
      // A few fragments stored and read back, as placement and the gateway would.
      HolderClient client = new HolderClient(Duration.ofSeconds(5));
      for (int i = 0; i < 4; i++) {
        byte[] bytes = new byte[300_000 + i * 50_000];
        new java.util.Random(i).nextBytes(bytes);
        var hasher = new dev.narvault.core.pack.FragmentHasher(4096);
        hasher.update(bytes, 0, bytes.length);
        var id = hasher.finish().id();
        Path file = java.nio.file.Files.write(dir.resolve("f" + i), bytes);
        client.put(holder.endpoint(), id, 4096, file, new dev.narvault.core.holder.Order(
            dev.narvault.core.holder.Order.Action.PUT, id, bytes.length, 4096, holder.holderId(),
            Instant.now().plusSeconds(600)).signWith(coordinatorKey));
        client.read(holder.endpoint(), id, 0, bytes.length);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!holder.standing().state().equals("healthy") && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      java.net.URI page = holder.dashboardEndpoint().orElseThrow();
      String dom = chromium.dom(page);
      assertEquals("healthy", dev.narvault.core.http.HeadlessChromium.byId(dom, "state"));
      assertEquals("vetted", dev.narvault.core.http.HeadlessChromium.byId(dom, "vetting"));
      assertEquals("4", dev.narvault.core.http.HeadlessChromium.byId(dom, "fragments"));
      assertEquals("no absence declared", dev.narvault.core.http.HeadlessChromium.byId(dom, "away"));
      Path shot = dir.resolve("vetted.png");
      java.awt.image.BufferedImage image = chromium.screenshot(page, shot, 900, 1100);
      assertTrue(dev.narvault.core.http.HeadlessChromium.barPixels(image) > 1000, "the charts are drawn");
      java.nio.file.Files.copy(shot, Path.of(System.getProperty("java.io.tmpdir"),
          "narvault-holder-dashboard-vetted.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

      Run away = run("holder-away", "--data-dir", data.toString(), "--coordinator", coordinator.endpoint().toString(),
          "--for", "60h");
      assertEquals(0, away.exit, away.text);
      long seen = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (holder.standing().awayUntilMillis() == 0 && System.nanoTime() < seen) {
        Thread.sleep(50);
      }
      String after = chromium.dom(page);
      assertTrue(dev.narvault.core.http.HeadlessChromium.byId(after, "away").startsWith("until "), after);
    }
  }

  private record Run(int exit, String text) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
    var cli = Narvault.commandLine(print);
    cli.setErr(new java.io.PrintWriter(print, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void holderStatus_withoutAnAnswerYet_exitsOne() {
    int exit = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
        .execute("holder-status", "--data-dir", dir.toString());
    assertEquals(1, exit);
  }
}
