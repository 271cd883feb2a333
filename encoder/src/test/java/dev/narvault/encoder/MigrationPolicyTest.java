package dev.narvault.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackId;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A drain judges packs by the coordinator's policy and reads them back with the archive keys the
 * readers trust: a run that cannot get the one, or signs with a key outside the other, does nothing.
 */
class MigrationPolicyTest {
  @TempDir
  Path dir;

  /** A coordinator that places nothing and, like one that predates GET /v1/policy, has no policy to give. */
  static final class SilentCoordinator implements PlacementAuthority {
    final AtomicInteger placements = new AtomicInteger();

    @Override
    public List<CoordinatorMessages.Assignment> place(PackId packId, int parityFragmentCount, int blockSize,
        List<CoordinatorMessages.Wanted> wanted, Collection<HolderId> placedOn, Collection<HolderId> failedOn)
        throws IOException {
      placements.incrementAndGet();
      throw new IOException("not in this test");
    }
  }

  @Test
  void run_drainWithoutTheCoordinatorsPolicy_failsClearlyBeforeArchivingAnything() throws Exception {
    NixSecretKey key = NixSecretKey.generate("test-1", new SecureRandom());
    DrainerTest.FakeObjects s3 = new DrainerTest.FakeObjects();
    s3.put("nix-cache-info", "StoreDir: /nix/store\n".getBytes(StandardCharsets.UTF_8), "text/plain");
    MigrateConfig config = new MigrateConfig(TrustedKeys.of(key.publicKey()), 2, 1, 1 << 20, 4096,
        Codecs.Kind.BACKBLAZE, dir.resolve("work"), 0)
        .with(ColdSelection.ALL, DrainConfig.delete(TrustedKeys.of(key.publicKey())));
    SilentCoordinator coordinator = new SilentCoordinator();
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      Migration migration = new Migration(config, s3, catalog, new HolderClient(Duration.ofSeconds(1)), key,
          coordinator, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
          Clock.fixed(Instant.ofEpochMilli(1_000_000), ZoneOffset.UTC));
      IOException e = assertThrows(IOException.class, migration::run);
      assertTrue(e.getMessage().contains("cannot drain") && e.getMessage().contains("GET /v1/policy"), e.getMessage());
      assertEquals(0, coordinator.placements.get());
      assertEquals(0, catalog.totals()[0]);
      assertEquals(1, s3.objects.size(), "S3 untouched");
    }
  }

  @Test
  void drain_whoseArchiveKeyTheTrustedKeysLack_isRefusedBeforeAnything() throws Exception {
    NixSecretKey cacheKey = NixSecretKey.generate("cache-1", new SecureRandom());
    // A worker started with a stray key file: it would sign packs the gateway refuses.
    NixSecretKey stray = NixSecretKey.generate("narvault-archive-1", new SecureRandom());
    NixSecretKey trusted = NixSecretKey.generate("narvault-archive-1", new SecureRandom());
    DrainerTest.FakeObjects s3 = new DrainerTest.FakeObjects();
    s3.put("nix-cache-info", "StoreDir: /nix/store\n".getBytes(StandardCharsets.UTF_8), "text/plain");
    MigrateConfig config = new MigrateConfig(TrustedKeys.of(cacheKey.publicKey()), 2, 1, 1 << 20, 4096,
        Codecs.Kind.BACKBLAZE, dir.resolve("work"), 0)
        .with(ColdSelection.ALL, DrainConfig.delete(TrustedKeys.of(trusted.publicKey())));
    SilentCoordinator coordinator = new SilentCoordinator();
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Migration(config, s3,
          catalog, new HolderClient(Duration.ofSeconds(1)), stray, coordinator,
          new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
          Clock.fixed(Instant.ofEpochMilli(1_000_000), ZoneOffset.UTC)));
      assertTrue(e.getMessage().contains(stray.publicKey().toString())
          && e.getMessage().contains("do not include"), e.getMessage());
      assertEquals(0, coordinator.placements.get());
      assertEquals(0, catalog.totals()[0]);
      assertEquals(1, s3.objects.size(), "S3 untouched");
    }
  }

  @Test
  void drain_withoutTrustedArchiveKeys_isAMistake() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new DrainConfig(DrainConfig.Mode.DELETE, Optional.empty(), Optional.empty(), -1, Optional.empty()));
    assertTrue(e.getMessage().contains("--archive-public-key"), e.getMessage());
  }
}
