package dev.narvault.encoder.input;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.NixBase32;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ShardTest {
  private static String randomHash(Random random) {
    char[] c = new char[32];
    for (int i = 0; i < 32; i++) {
      c[i] = NixBase32.character(random.nextInt(32));
    }
    return new String(c);
  }

  @Test
  void everyHash_isInExactlyOneShard_whichIsItsRangeOfKeys() {
    long seed = new SecureRandom().nextLong();
    System.out.println("ShardTest seed: " + seed);
    Random random = new Random(seed);
    for (int count : new int[] {1, 2, 3, 7, 32, 1000, 1024, 1025, Shard.MAX_COUNT}) {
      for (int n = 0; n < 300; n++) {
        String hash = switch (n) {
          case 0 -> "00000000000000000000000000000000";
          case 1 -> "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
          default -> randomHash(random);
        };
        String key = hash + ".narinfo";
        int in = 0;
        int shardOf = (int) ((long) Shard.position(hash) * count / Shard.MAX_COUNT) + 1;
        for (int index : new int[] {1, Math.max(1, shardOf - 1), shardOf, Math.min(count, shardOf + 1), count}) {
          Shard shard = new Shard(index, count);
          boolean listed = key.compareTo(shard.startAfter()) > 0 && !shard.isPast(key);
          assertEquals(shard.contains(hash), listed, key + " in " + shard + ": by hash and by key range alike");
          assertEquals(index == shardOf, shard.contains(key), key + " in " + shard);
        }
        for (int index = 1; index <= Math.min(count, 40); index++) {
          in += new Shard(index, count).contains(hash) ? 1 : 0;
        }
        if (count <= 40) {
          assertEquals(1, in, key + " in one shard of " + count);
        }
      }
    }
  }

  @Test
  void shardsAreRangesOfTheFirstFourCharacters() {
    Shard first = new Shard(1, 2);
    Shard second = new Shard(2, 2);
    assertEquals("", first.startAfter());
    assertEquals(Optional.of("h000"), first.end(), "h is the 17th of 32 characters: half the key space");
    assertEquals("h000", second.startAfter());
    assertEquals(Optional.empty(), second.end());
    assertTrue(first.contains("gzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
    assertTrue(second.contains("h0000000000000000000000000000000"));
    assertTrue(first.isPast("h0000000000000000000000000000000.narinfo"));
    assertFalse(second.isPast("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.narinfo"));
    assertEquals(0.5, second.from(), 1e-12);
    assertEquals(1.0, second.to(), 1e-12);
    assertEquals(Shard.ALL, Shard.parse(" 1/1 "));
    assertEquals(new Shard(3, 8), Shard.parse("3/8"));
    assertEquals("3/8", new Shard(3, 8).toString());
  }

  @Test
  void parse_badShards_sayWhatIsExpected() {
    for (String bad : new String[] {"0/2", "3/2", "1/0", "-1/2", "1/1048577", "2", "a/b", "1/2/3", ""}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shard.parse(bad), bad);
      assertTrue(e.getMessage().startsWith("--shard must be I/N"), e.getMessage());
    }
    IllegalArgumentException range = assertThrows(IllegalArgumentException.class, () -> Shard.parse("3/2"));
    assertTrue(range.getMessage().contains("1 <= I <= N <= 1048576, got 3/2"), range.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Shard.ALL.contains("e000"), "e is not nix32");
  }
}
