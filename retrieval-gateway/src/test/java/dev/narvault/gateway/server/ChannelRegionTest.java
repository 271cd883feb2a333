package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChannelRegionTest {
  @TempDir
  Path dir;

  @Test
  void transferTo_sendsExactlyItsBytesAndLeavesTheChannelOpen() throws IOException {
    byte[] bytes = new byte[300_000];
    new Random(7).nextBytes(bytes);
    Path file = Files.write(dir.resolve("nar"), bytes);
    ByteArrayOutputStream sent = new ByteArrayOutputStream();
    try (FileChannel channel = FileChannel.open(file); WritableByteChannel target = Channels.newChannel(sent)) {
      ChannelRegion region = new ChannelRegion(channel, 1000, 200_000);
      while (region.transferred() < region.count()) {
        region.transferTo(target, region.transferred());
      }
      assertEquals(0, region.transferTo(target, region.count()));
      assertTrue(region.release());
      assertTrue(channel.isOpen(), "the follower reads on through its channel");
    }
    assertArrayEquals(Arrays.copyOfRange(bytes, 1000, 201_000), sent.toByteArray());
  }

  @Test
  void transferTo_fileCutShort_failsInsteadOfSendingNothingForever() throws IOException {
    Path file = Files.write(dir.resolve("nar"), new byte[1000]);
    try (FileChannel channel = FileChannel.open(file);
        WritableByteChannel target = Channels.newChannel(new ByteArrayOutputStream())) {
      ChannelRegion region = new ChannelRegion(channel, 0, 5000);
      region.transferTo(target, 0);
      IOException e = assertThrows(IOException.class, () -> region.transferTo(target, region.transferred()));
      assertTrue(e.getMessage().contains("file ends at 1000"), e.getMessage());
    }
  }

  @Test
  void constructor_negativeCount_isRefusedWithTheValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ChannelRegion(null, 0, -1));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
  }
}
