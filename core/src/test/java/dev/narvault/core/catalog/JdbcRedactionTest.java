package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Catalog URLs reach error messages and logs without their passwords. */
class JdbcRedactionTest {
  @Test
  void passwordsAreRedactedInEveryForm() {
    assertEquals("jdbc:postgresql://db/narvault?user=nv&password=***",
        Jdbc.redacted("jdbc:postgresql://db/narvault?user=nv&password=s3cret"));
    assertEquals("jdbc:postgresql://nv:***@db/narvault", Jdbc.redacted("jdbc:postgresql://nv:s3cret@db/narvault"));
    assertEquals("jdbc:sqlite:catalog.db", Jdbc.redacted("jdbc:sqlite:catalog.db"));
  }

  @Test
  void aMistypedUrl_isRefusedWithoutEchoingItsPassword() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Catalog.open("postgres://nv:s3cret@db/narvault"));
    assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
  }
}
