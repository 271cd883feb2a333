package dev.narvault.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.narvault.core.catalog.Catalog;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The listing checkpoint never passes a key that is not fully handled, and stays small. */
class ListingCheckpointTest {
  private static final String SCOPE = "memory://cache shard 1/1 selection all";

  @TempDir
  Path dir;
  private Catalog catalog;
  private final Manual clock = new Manual();

  private static final class Manual extends Clock {
    long millis = 1_000_000;

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }
  }

  @BeforeEach
  void open() throws Exception {
    catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("catalog.db"));
  }

  @AfterEach
  void close() {
    catalog.close();
  }

  private static String key(int i) {
    return String.format("%04d.narinfo", i);
  }

  private Optional<String> saved() throws Exception {
    return catalog.listingCheckpoints().get(SCOPE);
  }

  @Test
  void keysInAPackNotCommitted_holdItBack_untilThePackCommits() throws Exception {
    ListingCheckpoint checkpoint = new ListingCheckpoint(catalog, Optional.of(SCOPE), Optional.empty(), clock);
    checkpoint.listedResolved(key(1));
    List<ListingCheckpoint.Ticket> pack = new ArrayList<>();
    pack.add(checkpoint.listed(key(2)));
    checkpoint.listedResolved(key(3));
    pack.add(checkpoint.listed(key(4)));
    ListingCheckpoint.Ticket window = checkpoint.listed(key(5));
    checkpoint.listedResolved(key(6));
    assertEquals(Optional.of(key(1)), checkpoint.safeKey(), "key 2 waits in the pack");
    checkpoint.save();
    assertEquals(Optional.of(key(1)), saved());
    checkpoint.packCommitted(pack);
    assertEquals(Optional.of(key(4)), checkpoint.safeKey(), "key 5 is still being fetched");
    assertEquals(Optional.of(key(4)), saved(), "saved as the pack commits");
    checkpoint.resolved(window);
    assertEquals(Optional.of(key(6)), checkpoint.safeKey());
    assertEquals(0, checkpoint.keptKeys());
  }

  @Test
  void resolvedOutOfOrder_advancesOnlyOverWhatIsWhole() {
    ListingCheckpoint checkpoint = new ListingCheckpoint(catalog, Optional.of(SCOPE), Optional.of(key(0)), clock);
    assertEquals(Optional.of(key(0)), checkpoint.safeKey(), "a resumed run starts where it resumed");
    List<ListingCheckpoint.Ticket> t = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      t.add(checkpoint.listed(key(i)));
    }
    for (int i : new int[] {5, 3, 1, 6, 4}) {
      checkpoint.resolved(t.get(i - 1));
    }
    assertEquals(Optional.of(key(1)), checkpoint.safeKey(), "key 2 is not resolved");
    checkpoint.resolved(t.get(1));
    assertEquals(Optional.of(key(6)), checkpoint.safeKey());
    checkpoint.resolved(t.get(1));
    assertEquals(Optional.of(key(6)), checkpoint.safeKey(), "resolving twice is harmless");
  }

  @Test
  void aBusyKey_holdsItBack_whileItsStorePathIsNotArchived() throws Exception {
    ListingCheckpoint checkpoint = new ListingCheckpoint(catalog, Optional.of(SCOPE), Optional.empty(), clock);
    checkpoint.listedResolved(key(1));
    ListingCheckpoint.Ticket busy = checkpoint.listed(key(2));
    checkpoint.busy(busy, "0".repeat(32));
    for (int i = 3; i < 1000; i++) {
      checkpoint.listedResolved(key(i));
    }
    checkpoint.save();
    assertEquals(Optional.of(key(1)), saved(), "another worker had claimed key 2: nobody archived it yet");
    assertEquals(2, checkpoint.keptKeys(), "the busy key and one for the 997 resolved after it");
  }

  @Test
  void aLongStretchOfResolvedKeys_isSavedEveryTenSeconds_andCompletionClearsIt() throws Exception {
    ListingCheckpoint checkpoint = new ListingCheckpoint(catalog, Optional.of(SCOPE), Optional.empty(), clock);
    for (int i = 0; i < 100; i++) {
      checkpoint.listedResolved(key(i));
      clock.millis += 200;
      checkpoint.tick();
    }
    // 100 keys over 20 s: saved at 10 s and 20 s.
    assertEquals(Optional.of(key(99)), saved());
    checkpoint.listedResolved(key(100));
    checkpoint.tick();
    assertEquals(Optional.of(key(99)), saved(), "not yet: saved less than 10 s ago");
    checkpoint.complete();
    assertEquals(Optional.empty(), saved(), "the pass is complete: the next run lists from the start");
  }

  @Test
  void withoutAScope_nothingIsSaved() throws Exception {
    ListingCheckpoint checkpoint = new ListingCheckpoint(catalog, Optional.empty(), Optional.empty(), clock);
    checkpoint.listedResolved(key(1));
    checkpoint.save();
    checkpoint.complete();
    assertEquals(Optional.of(key(1)), checkpoint.safeKey());
    assertEquals(Optional.empty(), saved());
  }
}
