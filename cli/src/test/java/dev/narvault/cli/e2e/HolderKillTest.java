package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentHasher;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 of a holder process in the middle of an upload leaves no visible fragment. */
class HolderKillTest {
  @TempDir
  Path dir;

  @Test
  void killDashNineDuringPut_leavesNoVisibleFragmentAfterRestart() throws Exception {
    NixSecretKey coordinator = NixSecretKey.generate("c", new SecureRandom());
    Path data = dir.resolve("data");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process holder = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-cp",
        System.getProperty("java.class.path"), Narvault.class.getName(), "holder", "--port", Integer.toString(port),
        "--data-dir", data.toString(), "--coordinator-public-key", coordinator.publicKey().toString(), "--dashboard-port", "0")
        .redirectErrorStream(true).redirectOutput(dir.resolve("holder.log").toFile()).start();
    URI endpoint = URI.create("http://127.0.0.1:" + port);
    HolderClient client = new HolderClient(Duration.ofSeconds(2));
    String holderId = null;
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (holderId == null) {
      try {
        holderId = client.status(endpoint).holderId();
      } catch (IOException notYet) {
        assertTrue(System.nanoTime() < deadline && holder.isAlive(), "holder did not start: " + Files.readString(dir.resolve("holder.log")));
        Thread.sleep(100);
      }
    }
    byte[] body = new byte[1_000_000];
    new Random(3).nextBytes(body);
    FragmentHasher h = new FragmentHasher(65536);
    h.update(body, 0, body.length);
    FragmentId id = h.finish().id();
    Order.Signed order = new Order(Order.Action.PUT, id, body.length, 65536, holderId, Instant.now().plusSeconds(600))
        .signWith(coordinator);
    try (Socket socket = new Socket("127.0.0.1", port)) {
      OutputStream out = socket.getOutputStream();
      out.write(("PUT /v1/fragments/" + id.hex() + "?blockSize=65536 HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length
          + "\r\n" + Order.HEADER + ": " + order.order().text() + "\r\n" + Order.SIGNATURE_HEADER + ": " + order.signature()
          + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body, 0, 400_000);
      out.flush();
      // Wait until the holder has part of the body on disk, then kill it without warning.
      while (tmpBytes(data) < 100_000) {
        assertTrue(System.nanoTime() < deadline, "upload never reached the disk");
        Thread.sleep(20);
      }
      holder.destroyForcibly();
      assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
    }
    assertTrue(tmpBytes(data) > 0, "the killed holder left its partial upload behind, as a crash would");
    try (HolderServer restarted = HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), data,
        1 << 30, coordinator.publicKey()))) {
      assertEquals(holderId, restarted.holderId(), "same identity after restart");
      assertEquals(-1, client.size(restarted.endpoint(), id), "no partial fragment is visible");
      assertEquals(0, restarted.store().fragmentCount());
      assertEquals(0, restarted.store().usedBytes());
      try (Stream<Path> tmp = Files.list(data.resolve("tmp"))) {
        assertEquals(List.of(), tmp.toList(), "stale upload swept on start");
      }
    }
  }

  private static long tmpBytes(Path data) throws IOException {
    if (!Files.isDirectory(data.resolve("tmp"))) {
      return 0;
    }
    try (Stream<Path> files = Files.list(data.resolve("tmp"))) {
      return files.mapToLong(p -> p.toFile().length()).sum();
    }
  }
}
