package dev.narvault.holder.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.store.DiskFragmentStore;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The holder's handler without sockets ({@link EmbeddedChannel}): orders refused with their status
 * before any byte is stored, and a delete under a good order answered on the spot.
 */
class HolderServerHandlerTest {
  private static final NixSecretKey COORDINATOR = NixSecretKey.generate("coordinator-1", new SecureRandom());
  private static final FragmentId ID = new FragmentId("ab".repeat(32));
  private static final Instant NOW = Instant.parse("2026-12-07T10:00:00Z");

  @TempDir
  Path dir;

  private EmbeddedChannel channel(DiskFragmentStore store) throws Exception {
    NixSecretKey identity = NixSecretKey.generate("narvault-holder", new SecureRandom());
    InstantSource clock = InstantSource.fixed(NOW);
    HolderServerHandler.Context context = new HolderServerHandler.Context(store, new HolderMetrics(),
        CoordinatorKeys.of(COORDINATOR.publicKey()), "h1", identity.publicKey(), new EndpointProver(identity, clock), NOW, clock,
        SeenNonces.journaled(dir.resolve("nonces"), NOW), false,
        new AtomicReference<>(HolderMessages.Standing.unknown("h1")), UploadQuota.open(dir, 0, clock, Runnable::run));
    return new EmbeddedChannel(new HolderServerHandler(context));
  }

  private static FullHttpResponse answer(EmbeddedChannel ch, FullHttpRequest request) {
    ch.writeInbound(request);
    ch.runPendingTasks();
    Object out = ch.readOutbound();
    assertTrue(out instanceof FullHttpResponse, "a whole response, got " + out);
    return (FullHttpResponse) out;
  }

  private static FullHttpRequest put(long length) {
    FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.PUT,
        "/v1/fragments/" + ID.hex() + "?blockSize=4096", Unpooled.wrappedBuffer(new byte[(int) length]));
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
    return r;
  }

  @Test
  void put_withoutAnOrder_is401_andNothingIsStored() throws Exception {
    DiskFragmentStore store = DiskFragmentStore.open(dir.resolve("data"), 1L << 20);
    EmbeddedChannel ch = channel(store);
    FullHttpResponse r = answer(ch, put(100));
    assertEquals(401, r.status().code());
    assertTrue(r.content().toString(StandardCharsets.UTF_8).contains(Order.HEADER));
    assertEquals(0, store.fragmentCount());
    r.release();
    ch.finishAndReleaseAll();
  }

  @Test
  void put_withAnOrderForAnotherHolder_is403_sayingWhy() throws Exception {
    DiskFragmentStore store = DiskFragmentStore.open(dir.resolve("data"), 1L << 20);
    EmbeddedChannel ch = channel(store);
    FullHttpRequest request = put(100);
    Order.Signed o = new Order(Order.Action.PUT, ID, 100, 4096, "h2", NOW.plusSeconds(60)).signWith(COORDINATOR);
    request.headers().set(Order.HEADER, o.order().text()).set(Order.SIGNATURE_HEADER, o.signature());
    FullHttpResponse r = answer(ch, request);
    assertEquals(403, r.status().code());
    assertTrue(r.content().toString(StandardCharsets.UTF_8).contains("this is h1"));
    assertEquals(0, store.fragmentCount());
    r.release();
    ch.finishAndReleaseAll();
  }

  @Test
  void delete_underAGoodOrder_ofAFragmentItDoesNotHave_is404() throws Exception {
    DiskFragmentStore store = DiskFragmentStore.open(dir.resolve("data"), 1L << 20);
    EmbeddedChannel ch = channel(store);
    FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.DELETE,
        "/v1/fragments/" + ID.hex());
    Order.Signed o = new Order(Order.Action.DELETE, ID, 0, 0, "h1", NOW.plusSeconds(60)).signWith(COORDINATOR);
    request.headers().set(Order.HEADER, o.order().text()).set(Order.SIGNATURE_HEADER, o.signature());
    FullHttpResponse r = answer(ch, request);
    assertEquals(404, r.status().code());
    r.release();
    ch.finishAndReleaseAll();
  }
}
