package dev.narvault.holder.server;

import dev.narvault.core.holder.Order;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.time.InstantSource;

/**
 * Whether a request carries the coordinator's order for what it asks: present, signed by a
 * coordinator key this holder accepts now ({@link CoordinatorKeys}), for this action, fragment and holder, of this size and block size, not expired,
 * and used for the first time (its nonce is journalled before the answer). A refusal is a
 * {@link Refusal} with the status to answer, so the handler maps it in one place and this is
 * testable without a channel.
 */
final class OrderCheck {
  /** An order refused: the HTTP status to answer and why, in words. */
  static final class Refusal extends Exception {
    private final int status;

    Refusal(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }

    int status() {
      return status;
    }
  }

  private final CoordinatorKeys coordinatorKeys;
  private final String holderId;
  private final SeenNonces nonces;
  private final InstantSource clock;

  OrderCheck(CoordinatorKeys coordinatorKeys, String holderId, SeenNonces nonces, InstantSource clock) {
    this.coordinatorKeys = coordinatorKeys;
    this.holderId = holderId;
    this.nonces = nonces;
    this.clock = clock;
  }

  /**
   * Accepts the order (the order text and its signature, from the request's headers) for
   * {@code action} on {@code id}, of {@code size} bytes ({@code -1}: any) in blocks of
   * {@code blockSize}, or refuses it: 401 without an order, 403 for an order that does not allow
   * this, 503 when its nonce cannot be journalled (nothing is done then).
   */
  void accept(String text, String signature, Order.Action action, FragmentId id, long size, int blockSize)
      throws Refusal {
    if (text == null || signature == null) {
      throw new Refusal(401, "writes need an order signed by the coordinator (" + Order.HEADER + ", "
          + Order.SIGNATURE_HEADER + ")");
    }
    Order order;
    try {
      order = Order.parse(text);
    } catch (IllegalArgumentException e) {
      throw new Refusal(403, e.getMessage());
    }
    try {
      coordinatorKeys.verify(new Order.Signed(order, signature), clock.instant());
    } catch (CoordinatorKeys.NotAccepted e) {
      throw new Refusal(403, e.getMessage());
    }
    if (order.action() != action) {
      throw new Refusal(403, "order is for " + order.action() + ", not " + action);
    }
    if (!order.fragmentId().equals(id)) {
      throw new Refusal(403, "order is for fragment " + order.fragmentId() + ", not " + id);
    }
    if (!order.holderId().equals(holderId)) {
      throw new Refusal(403, "order is for holder " + order.holderId() + ", this is " + holderId);
    }
    if (size >= 0 && order.size() != size) {
      throw new Refusal(403, "order is for " + order.size() + " bytes, the upload has " + size);
    }
    if (order.blockSize() != blockSize) {
      throw new Refusal(403, "order is for blocks of " + order.blockSize() + " bytes, the upload says " + blockSize);
    }
    if (!order.expires().isAfter(clock.instant())) {
      throw new Refusal(403, "order expired at " + order.expires());
    }
    try {
      if (!nonces.firstUse(order.nonce(), order.expires(), clock.instant())) {
        throw new Refusal(403, "order " + order.nonce() + " was used already");
      }
    } catch (IOException e) {
      throw new Refusal(503, "cannot record the order; try later (" + e.getMessage() + ")");
    }
  }
}
