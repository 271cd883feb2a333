package dev.narvault.holder.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.InstantSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator's orders, checked without a channel: each refusal with its status and reason. */
class OrderCheckTest {
  private static final NixSecretKey COORDINATOR = NixSecretKey.generate("coordinator-1", new SecureRandom());
  private static final NixSecretKey STRANGER = NixSecretKey.generate("coordinator-1", new SecureRandom());
  private static final FragmentId ID = new FragmentId("ab".repeat(32));
  private static final Instant NOW = Instant.parse("2026-12-07T10:00:00Z");

  @TempDir
  Path dir;

  private OrderCheck check() throws Exception {
    return new OrderCheck(COORDINATOR.publicKey(), "h1", SeenNonces.journaled(dir.resolve("nonces"), NOW),
        InstantSource.fixed(NOW));
  }

  private static Order.Signed order(Order.Action action, FragmentId id, long size, int blockSize, String holder,
      Instant expires, NixSecretKey key) {
    return new Order(action, id, size, blockSize, holder, expires).signWith(key);
  }

  private static OrderCheck.Refusal refused(OrderCheck check, Order.Signed o, Order.Action action, long size, int block) {
    return assertThrows(OrderCheck.Refusal.class,
        () -> check.accept(o.order().text(), o.signature(), action, ID, size, block));
  }

  @Test
  void accept_theRightOrderOnce_thenRefusesItsReplay() throws Exception {
    OrderCheck check = check();
    Order.Signed o = order(Order.Action.PUT, ID, 100, 4096, "h1", NOW.plusSeconds(60), COORDINATOR);
    check.accept(o.order().text(), o.signature(), Order.Action.PUT, ID, 100, 4096);
    OrderCheck.Refusal replay = refused(check, o, Order.Action.PUT, 100, 4096);
    assertEquals(403, replay.status());
    assertTrue(replay.getMessage().contains("used already"), replay.getMessage());
  }

  @Test
  void accept_withoutAnOrder_is401() throws Exception {
    OrderCheck.Refusal r = assertThrows(OrderCheck.Refusal.class,
        () -> check().accept(null, null, Order.Action.DELETE, ID, -1, 0));
    assertEquals(401, r.status());
  }

  @Test
  void accept_ordersThatDoNotAllowThis_are403_withTheReason() throws Exception {
    OrderCheck check = check();
    Instant later = NOW.plusSeconds(60);
    FragmentId other = new FragmentId("cd".repeat(32));
    String[][] cases = {
        {"signature", "does not verify"}, {"action", "not DELETE"}, {"fragment", "not " + ID},
        {"holder", "this is h1"}, {"size", "the upload has 100"}, {"blockSize", "the upload says 4096"},
        {"expired", "expired"}};
    for (String[] c : cases) {
      Order.Signed o = switch (c[0]) {
        case "signature" -> order(Order.Action.PUT, ID, 100, 4096, "h1", later, STRANGER);
        case "action" -> order(Order.Action.PUT, ID, 100, 4096, "h1", later, COORDINATOR);
        case "fragment" -> order(Order.Action.PUT, other, 100, 4096, "h1", later, COORDINATOR);
        case "holder" -> order(Order.Action.PUT, ID, 100, 4096, "h2", later, COORDINATOR);
        case "size" -> order(Order.Action.PUT, ID, 99, 4096, "h1", later, COORDINATOR);
        case "blockSize" -> order(Order.Action.PUT, ID, 100, 8192, "h1", later, COORDINATOR);
        default -> order(Order.Action.PUT, ID, 100, 4096, "h1", NOW, COORDINATOR);
      };
      Order.Action asked = c[0].equals("action") ? Order.Action.DELETE : Order.Action.PUT;
      long size = asked == Order.Action.DELETE ? -1 : 100;
      int block = asked == Order.Action.DELETE ? 0 : 4096;
      OrderCheck.Refusal r = refused(check, o, asked, size, block);
      assertEquals(403, r.status(), c[0]);
      assertTrue(r.getMessage().contains(c[1]), c[0] + ": " + r.getMessage());
    }
    OrderCheck.Refusal garbage = assertThrows(OrderCheck.Refusal.class,
        () -> check.accept("not an order", "AAAA", Order.Action.PUT, ID, 100, 4096));
    assertEquals(403, garbage.status());
  }
}
