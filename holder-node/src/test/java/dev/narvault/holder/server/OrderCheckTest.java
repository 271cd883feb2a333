package dev.narvault.holder.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
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
    return new OrderCheck(CoordinatorKeys.of(COORDINATOR.publicKey()), "h1", SeenNonces.journaled(dir.resolve("nonces"), NOW),
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

  @Test
  void accept_byARetiredKey_untilItsDate_thenRefused_sayingSo() throws Exception {
    NixSecretKey next = NixSecretKey.generate("coordinator-2", new SecureRandom());
    CoordinatorKeys keys = new CoordinatorKeys(List.of(next.publicKey()), List.of(
        CoordinatorKeys.Retired.parse(COORDINATOR.publicKey() + "@2026-12-08")));
    Instant expires = NOW.plus(Duration.ofDays(2));
    OrderCheck before = new OrderCheck(keys, "h1", SeenNonces.journaled(dir.resolve("a"), NOW),
        InstantSource.fixed(Instant.parse("2026-12-07T23:59:59Z")));
    Order.Signed old = order(Order.Action.PUT, ID, 100, 4096, "h1", expires, COORDINATOR);
    before.accept(old.order().text(), old.signature(), Order.Action.PUT, ID, 100, 4096);

    OrderCheck after = new OrderCheck(keys, "h1", SeenNonces.journaled(dir.resolve("b"), NOW),
        InstantSource.fixed(Instant.parse("2026-12-08T00:00:00Z")));
    Order.Signed late = order(Order.Action.PUT, ID, 100, 4096, "h1", expires, COORDINATOR);
    OrderCheck.Refusal r = refused(after, late, Order.Action.PUT, 100, 4096);
    assertEquals(403, r.status());
    assertTrue(r.getMessage().contains("retired coordinator key coordinator-1, accepted until 2026-12-08T00:00:00Z"),
        r.getMessage());
    Order.Signed current = order(Order.Action.PUT, ID, 100, 4096, "h1", expires, next);
    after.accept(current.order().text(), current.signature(), Order.Action.PUT, ID, 100, 4096);
    Order.Signed stranger = order(Order.Action.PUT, ID, 100, 4096, "h1", expires, STRANGER);
    assertTrue(refused(after, stranger, Order.Action.PUT, 100, 4096).getMessage().contains("does not verify"));
  }

  @Test
  void retiredKeys_parseADayOrAnInstant_andRefuseAnythingElse() {
    assertEquals(Instant.parse("2027-01-31T00:00:00Z"),
        CoordinatorKeys.Retired.parse(COORDINATOR.publicKey() + "@2027-01-31").until());
    assertEquals(Instant.parse("2027-01-31T12:30:00Z"),
        CoordinatorKeys.Retired.parse(COORDINATOR.publicKey() + "@2027-01-31T12:30:00Z").until());
    for (String bad : List.of(COORDINATOR.publicKey().toString(), COORDINATOR.publicKey() + "@31.1.2027",
        COORDINATOR.publicKey() + "@", "nonsense@2027-01-31")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> CoordinatorKeys.Retired.parse(bad), bad);
      assertTrue(e.getMessage().contains("retired coordinator key") || e.getMessage().contains("public key"),
          e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> new CoordinatorKeys(List.of(), List.of()),
        "a holder with only retired keys would refuse every order soon");
  }
}
