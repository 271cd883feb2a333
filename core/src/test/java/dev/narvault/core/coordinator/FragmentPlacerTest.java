package dev.narvault.core.coordinator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.FragmentBytes;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.Order;
import dev.narvault.core.holder.RawHttp;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.PackId;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Placing over real sockets with the uploads sent by the kernel: the holder gets each fragment's
 * bytes (pack slices, zero-padded), and a fragment that cannot be read on this side fails the
 * placement at once, without blaming holders or asking for more.
 */
class FragmentPlacerTest {
  @TempDir
  Path dir;
  private ServerSocket server;
  /** What the fake holder stored, by fragment id. */
  private final Map<String, byte[]> stored = new ConcurrentHashMap<>();
  private final NixSecretKey coordinatorKey = NixSecretKey.generate("test-coordinator-1", new SecureRandom());

  /** A fake holder: PUT stores the body by the id in the path, HEAD answers its size; one request per connection. */
  private String startHolder() throws IOException {
    server = RawHttp.serve((head, in, out) -> serve(head, in, out));
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  private void serve(String head, InputStream in, OutputStream out) throws IOException {
    if (!head.endsWith("\r\n\r\n")) {
      return;
    }
    String[] lines = head.split("\r\n");
    String[] request = lines[0].split(" ");
    String id = request[1].replaceAll(".*/v1/fragments/([0-9a-f]+).*", "$1");
    long length = Arrays.stream(lines).filter(l -> l.toLowerCase(Locale.ROOT).startsWith("content-length:"))
        .mapToLong(l -> Long.parseLong(l.substring(15).strip())).findFirst().orElse(0);
    String answer;
    if (request[0].equals("PUT")) {
      byte[] body = in.readNBytes((int) length);
      if (body.length < length) {
        return; // cut off: a holder keeps nothing of it
      }
      stored.put(id, body);
      answer = "HTTP/1.1 201 Created\r\nContent-Length: 7\r\nConnection: close\r\n\r\nstored\n";
    } else {
      byte[] bytes = stored.get(id);
      answer = bytes == null ? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
          : "HTTP/1.1 200 OK\r\nContent-Length: " + bytes.length + "\r\nConnection: close\r\n\r\n";
    }
    out.write(answer.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** Signs a PUT order for every fragment wanted, each on a holder of its own at the one fake endpoint. */
  private final class Authority implements PlacementAuthority {
    final String endpoint;
    final AtomicInteger calls = new AtomicInteger();
    final List<Collection<HolderId>> failedOn = new ArrayList<>();

    Authority(String endpoint) {
      this.endpoint = endpoint;
    }

    @Override
    public List<CoordinatorMessages.Assignment> place(PackId packId, int parityFragmentCount, int blockSize,
        List<CoordinatorMessages.Wanted> wanted, Collection<HolderId> placedOn, Collection<HolderId> failed) {
      calls.incrementAndGet();
      failedOn.add(List.copyOf(failed));
      List<CoordinatorMessages.Assignment> out = new ArrayList<>();
      for (CoordinatorMessages.Wanted w : wanted) {
        String holder = "holder-" + w.index() + "-" + calls.get();
        Order.Signed order = new Order(Order.Action.PUT, new FragmentId(w.fragmentId()), w.size(), blockSize, holder,
            Instant.now().plus(Duration.ofHours(1))).signWith(coordinatorKey);
        out.add(new CoordinatorMessages.Assignment(w.index(), holder, endpoint, order.order().text(),
            order.signature()));
      }
      return out;
    }
  }

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  private static FragmentId id(int i) {
    byte[] b = new byte[32];
    b[0] = (byte) i;
    return new FragmentId(HexFormat.of().formatHex(b));
  }

  private static PackId pack() {
    return new PackId(HexFormat.of().formatHex(new byte[32]));
  }

  @Test
  void everyFragmentReachesItsHolderWhole_dataSlicesZeroPadded() throws Exception {
    byte[] bytes = new byte[3_000_001];
    new Random(5).nextBytes(bytes);
    Path packFile = dir.resolve("pack");
    Files.write(packFile, bytes);
    Path parity = dir.resolve("parity");
    Files.write(parity, Arrays.copyOf(bytes, 1_000_001));
    List<FragmentPlacer.Fragment> fragments = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      fragments.add(new FragmentPlacer.Fragment(i, id(i), FragmentBytes.slice(packFile, i * 1_000_001L, 1_000_001)));
    }
    fragments.add(new FragmentPlacer.Fragment(3, id(3), parity));
    Authority authority = new Authority(startHolder());
    List<FragmentPlacer.Placed> placed = new FragmentPlacer(authority, new HolderClient(Duration.ofSeconds(10)))
        .place(pack(), 1, 65536, fragments, Set.of());
    assertEquals(List.of(0, 1, 2, 3), placed.stream().map(FragmentPlacer.Placed::index).toList());
    for (int i = 0; i < 3; i++) {
      byte[] expected = Arrays.copyOf(Arrays.copyOfRange(bytes, (int) Math.min(bytes.length, i * 1_000_001L),
          (int) Math.min(bytes.length, (i + 1) * 1_000_001L)), 1_000_001);
      assertArrayEquals(expected, stored.get(id(i).hex()), "fragment " + i);
    }
    assertArrayEquals(Arrays.copyOf(bytes, 1_000_001), stored.get(id(3).hex()));
    assertEquals(1, authority.calls.get());
  }

  @Test
  void aFragmentThatCannotBeReadHereFailsThePlacementAtOnce_blamingNoHolder() throws Exception {
    Path parity = dir.resolve("parity");
    Files.write(parity, new byte[100_000]);
    FragmentPlacer.Fragment gone = new FragmentPlacer.Fragment(0, id(0), parity);
    Files.delete(parity);
    Authority authority = new Authority(startHolder());
    IOException e = assertThrows(IOException.class, () -> new FragmentPlacer(authority,
        new HolderClient(Duration.ofSeconds(10))).place(pack(), 1, 65536, List.of(gone), Set.of()));
    assertTrue(e.getMessage().contains("cannot be read here"), e.getMessage());
    // One round: no other holder was asked to take what this side cannot send.
    assertEquals(1, authority.calls.get());
    assertTrue(stored.isEmpty());
  }
}
