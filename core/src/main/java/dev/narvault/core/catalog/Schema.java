package dev.narvault.core.catalog;

import java.util.List;

/**
 * The catalog schema as numbered migrations, applied in order, each once, inside a transaction.
 * Never edit a released migration: add the next one. The SQL runs on SQLite and PostgreSQL alike.
 *
 * <p>Keys are chosen for ~10^9 NARs and ~10^7 packs: NARs are found by store hash (narinfo
 * requests) and by file key (NAR requests), fragments by pack and by holder.
 */
final class Schema {
  static final List<String> MIGRATIONS = List.of(
      // 1: the walking skeleton's tables.
      """
      CREATE TABLE holders (
        holder_id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        state TEXT NOT NULL,
        last_seen_millis BIGINT NOT NULL
      );
      CREATE TABLE packs (
        pack_id TEXT PRIMARY KEY,
        data_fragments INTEGER NOT NULL,
        parity_fragments INTEGER NOT NULL,
        pack_length BIGINT NOT NULL,
        signed_manifest TEXT NOT NULL,
        created_millis BIGINT NOT NULL
      );
      CREATE TABLE fragments (
        pack_id TEXT NOT NULL REFERENCES packs(pack_id),
        fragment_index INTEGER NOT NULL,
        fragment_id TEXT NOT NULL,
        holder_id TEXT NOT NULL REFERENCES holders(holder_id),
        state TEXT NOT NULL,
        PRIMARY KEY (pack_id, fragment_index, holder_id)
      );
      CREATE INDEX fragments_by_holder ON fragments(holder_id);
      CREATE TABLE nars (
        store_hash TEXT PRIMARY KEY,
        file_key TEXT NOT NULL UNIQUE,
        file_hash TEXT NOT NULL,
        pack_id TEXT NOT NULL REFERENCES packs(pack_id),
        pack_offset BIGINT NOT NULL,
        length BIGINT NOT NULL,
        narinfo TEXT NOT NULL
      );
      CREATE INDEX nars_by_pack ON nars(pack_id);
      """,
      // 2: holder identities, heartbeats, audits and scrub reports.
      """
      ALTER TABLE holders ADD COLUMN public_key TEXT;
      ALTER TABLE holders ADD COLUMN capacity_bytes BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE holders ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE holders ADD COLUMN fragment_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE holders ADD COLUMN version TEXT NOT NULL DEFAULT '';
      ALTER TABLE holders ADD COLUMN operator TEXT NOT NULL DEFAULT '';
      ALTER TABLE holders ADD COLUMN location TEXT NOT NULL DEFAULT '';
      ALTER TABLE holders ADD COLUMN last_message_millis BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE holders ADD COLUMN audit_state TEXT NOT NULL DEFAULT 'ok';
      CREATE INDEX fragments_by_id ON fragments(fragment_id);
      CREATE TABLE audit_challenges (
        challenge_id TEXT PRIMARY KEY,
        fragment_id TEXT NOT NULL,
        challenge TEXT NOT NULL,
        expected TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX audit_challenges_by_fragment ON audit_challenges(fragment_id, used);
      CREATE TABLE audit_results (
        holder_id TEXT NOT NULL,
        fragment_id TEXT NOT NULL,
        at_millis BIGINT NOT NULL,
        passed INTEGER NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE TABLE scrub_reports (
        holder_id TEXT NOT NULL,
        fragment_id TEXT NOT NULL,
        at_millis BIGINT NOT NULL
      );
      """,
      // 3: several store paths may share one NAR object, so file_key is no longer unique.
      """
      CREATE TABLE nars_v3 (
        store_hash TEXT PRIMARY KEY,
        file_key TEXT NOT NULL,
        file_hash TEXT NOT NULL,
        pack_id TEXT NOT NULL REFERENCES packs(pack_id),
        pack_offset BIGINT NOT NULL,
        length BIGINT NOT NULL,
        narinfo TEXT NOT NULL
      );
      INSERT INTO nars_v3 SELECT store_hash, file_key, file_hash, pack_id, pack_offset, length, narinfo FROM nars;
      DROP TABLE nars;
      ALTER TABLE nars_v3 RENAME TO nars;
      CREATE INDEX nars_by_file_key ON nars(file_key);
      CREATE INDEX nars_by_pack_v3 ON nars(pack_id);
      """,
      // 4: custody. Where a holder really connects from (placement keeps /24s apart), when it
      // first registered (vetting), its audit reputation, whether it is leaving; repair claims on
      // packs; placement orders handed out, so fragments of failed placements can be collected.
      """
      ALTER TABLE holders ADD COLUMN seen_address TEXT NOT NULL DEFAULT '';
      ALTER TABLE holders ADD COLUMN registered_millis BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE holders ADD COLUMN audit_alpha DOUBLE PRECISION NOT NULL DEFAULT 20;
      ALTER TABLE holders ADD COLUMN audit_beta DOUBLE PRECISION NOT NULL DEFAULT 0;
      ALTER TABLE packs ADD COLUMN claim_owner TEXT;
      ALTER TABLE packs ADD COLUMN claim_until_millis BIGINT NOT NULL DEFAULT 0;
      CREATE INDEX fragments_by_holder_id ON fragments(holder_id, fragment_id);
      CREATE INDEX fragments_by_state ON fragments(state);
      CREATE TABLE placement_orders (
        fragment_id TEXT NOT NULL,
        holder_id TEXT NOT NULL,
        pack_id TEXT NOT NULL,
        expires_millis BIGINT NOT NULL,
        PRIMARY KEY (fragment_id, holder_id)
      );
      CREATE INDEX placement_orders_by_expiry ON placement_orders(expires_millis);
      DROP TABLE audit_challenges;
      """,
      // 5: the migration journal: how far each archived NAR has come towards leaving S3.
      """
      CREATE TABLE journal (
        store_hash TEXT PRIMARY KEY,
        file_key TEXT NOT NULL,
        pack_id TEXT NOT NULL,
        file_size BIGINT NOT NULL,
        state TEXT NOT NULL,
        updated_millis BIGINT NOT NULL
      );
      CREATE INDEX journal_by_state ON journal(state, file_key);
      CREATE INDEX journal_by_file_key ON journal(file_key);
      CREATE INDEX journal_by_pack ON journal(pack_id, state);
      INSERT INTO journal (store_hash, file_key, pack_id, file_size, state, updated_millis)
        SELECT store_hash, file_key, pack_id, length, 'committed', 0 FROM nars;
      """,
      // 6: migrate workers claim the S3 objects they archive, so that several share one catalog.
      """
      CREATE TABLE migration_claims (
        file_key TEXT PRIMARY KEY,
        worker TEXT NOT NULL,
        until_millis BIGINT NOT NULL
      );
      CREATE INDEX migration_claims_by_worker ON migration_claims(worker);
      """,
      // 7: signed documents (manifests, aliases) also stored on holders, so that the catalog can be
      // rebuilt from the holders alone; a manifest's text stays in packs.signed_manifest.
      """
      CREATE TABLE documents (
        doc_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        pack_id TEXT NOT NULL,
        body TEXT
      );
      CREATE TABLE document_copies (
        doc_id TEXT NOT NULL,
        holder_id TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'stored',
        PRIMARY KEY (doc_id, holder_id)
      );
      CREATE INDEX document_copies_by_holder ON document_copies(holder_id);
      CREATE INDEX document_copies_by_state ON document_copies(state);
      """,
      // 8: custody among strangers. When the coordinator last reached a holder's endpoint (liveness
      // is reachability, not heartbeats alone); a separate, recoverable suspension score for honest
      // trouble; audits passed (vetting). Audit scores move to the slower forgetting factor
      // (0.999, a fresh record of 1000): the old counts are scaled to keep each holder's score,
      // and suspicion under the old one-failure rule is forgiven. Copies not stored get an index
      // of their own, so repair and garbage collection never scan the stored ones.
      """
      ALTER TABLE holders ADD COLUMN reached_millis BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE holders ADD COLUMN suspension_alpha DOUBLE PRECISION NOT NULL DEFAULT 100;
      ALTER TABLE holders ADD COLUMN suspension_beta DOUBLE PRECISION NOT NULL DEFAULT 0;
      ALTER TABLE holders ADD COLUMN audits_passed BIGINT NOT NULL DEFAULT 0;
      UPDATE holders SET reached_millis = last_seen_millis, audit_alpha = audit_alpha * 50,
        audit_beta = audit_beta * 50, audit_state = 'ok';
      CREATE INDEX fragments_not_stored ON fragments(pack_id) WHERE state <> 'stored';
      """,
      // 9: packs a migrate worker is placing and has not committed yet, renewed while it works:
      // garbage collection leaves the fragments of their placement orders alone, however long
      // the worker takes, until the pack commits or the worker stops renewing.
      """
      CREATE TABLE pending_packs (
        pack_id TEXT PRIMARY KEY,
        worker TEXT NOT NULL,
        until_millis BIGINT NOT NULL
      );
      """,
      // 10: copies of last resort. A fragment copy garbage collection deleted sits in its holder's
      // trash for a while: remembered here until then, so that repair can ask for it back (a
      // signed restore order) if its pack falls short of k readable fragments meanwhile.
      """
      CREATE TABLE trashed_copies (
        pack_id TEXT NOT NULL,
        fragment_index INTEGER NOT NULL,
        fragment_id TEXT NOT NULL,
        holder_id TEXT NOT NULL,
        deleted_millis BIGINT NOT NULL,
        PRIMARY KEY (pack_id, fragment_index, holder_id)
      );
      CREATE INDEX trashed_copies_by_time ON trashed_copies(deleted_millis);
      """,
      // 11: forgiveness. A holder's signed "away until" and the away time it has left
      // (HolderAway): a declared absence is not counted as offline, within bounds.
      """
      ALTER TABLE holders ADD COLUMN away_until_millis BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE holders ADD COLUMN away_allowance_millis BIGINT NOT NULL DEFAULT 604800000;
      ALTER TABLE holders ADD COLUMN away_allowance_at_millis BIGINT NOT NULL DEFAULT 0;
      """,
      // 12: journal totals kept as the journal changes (objects: distinct S3 keys with an entry in
      // that state; bytes: their sizes), so that the archive's totals cost one row, not a scan.
      """
      CREATE TABLE journal_totals (
        state TEXT PRIMARY KEY,
        objects BIGINT NOT NULL,
        bytes BIGINT NOT NULL
      );
      INSERT INTO journal_totals (state, objects, bytes) VALUES ('committed', 0, 0), ('verified', 0, 0),
        ('drained', 0, 0);
      UPDATE journal_totals SET objects = (SELECT COUNT(*) FROM (SELECT DISTINCT file_key FROM journal
        WHERE state = 'committed') AS k), bytes = (SELECT COALESCE(SUM(s), 0) FROM (SELECT MAX(file_size) AS s
        FROM journal WHERE state = 'committed' GROUP BY file_key) AS o) WHERE state = 'committed';
      UPDATE journal_totals SET objects = (SELECT COUNT(*) FROM (SELECT DISTINCT file_key FROM journal
        WHERE state = 'verified') AS k), bytes = (SELECT COALESCE(SUM(s), 0) FROM (SELECT MAX(file_size) AS s
        FROM journal WHERE state = 'verified' GROUP BY file_key) AS o) WHERE state = 'verified';
      UPDATE journal_totals SET objects = (SELECT COUNT(*) FROM (SELECT DISTINCT file_key FROM journal
        WHERE state = 'drained') AS k), bytes = (SELECT COALESCE(SUM(s), 0) FROM (SELECT MAX(file_size) AS s
        FROM journal WHERE state = 'drained' GROUP BY file_key) AS o) WHERE state = 'drained';
      CREATE INDEX journal_by_file_key_state ON journal(file_key, state);
      """,
      // 13: where an interrupted bucket listing continues (ListingCheckpoints). Per scope (the
      // bucket, the shard of store hashes and the selection a migrate run lists for), the last
      // narinfo key up to which everything listed was fully handled: the next run's StartAfter.
      """
      CREATE TABLE listing_checkpoints (
        scope TEXT PRIMARY KEY,
        after_key TEXT NOT NULL,
        saved_millis BIGINT NOT NULL
      );
      """,
      // 14: garbage collection asks each holder with garbage for its rows not stored: an index of
      // exactly those, by holder, so the answer costs what there is to collect (SQLite would
      // otherwise read every row the holder has).
      """
      CREATE INDEX fragments_not_stored_by_holder ON fragments(holder_id, pack_id) WHERE state <> 'stored';
      """,
      // 15: audit and scrub history is kept for a while, then pruned (the scores live in holders):
      // indexes by time for the pruning, and by holder for reading one holder's audits.
      """
      CREATE INDEX audit_results_by_time ON audit_results(at_millis);
      CREATE INDEX audit_results_by_holder ON audit_results(holder_id, at_millis);
      CREATE INDEX scrub_reports_by_time ON scrub_reports(at_millis);
      """,
      // 16: work that several coordinators on one catalog share (Leases): a named lease per round
      // that must not run twice at once or twice per interval ("gc", "rebalance", …) and per
      // holder audit claims ("audit <holder>"), each with its owner, expiry and next due time; and
      // the bytes the catalog counts on each holder, taken once an hour by one coordinator and
      // read by all (placement and rebalancing).
      """
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        owner TEXT,
        until_millis BIGINT NOT NULL,
        due_millis BIGINT NOT NULL
      );
      CREATE TABLE counted_bytes (
        holder_id TEXT PRIMARY KEY,
        bytes BIGINT NOT NULL,
        counted_millis BIGINT NOT NULL
      );
      """,
      // 17: cold means unused (AccessRecords). The last request and a request count per subject:
      // a store hash, or the S3 key of a NAR object the catalog could not name a store path for;
      // requests for archived NARs also counted per UTC day (pruned after AccessRecords.DAYS_KEPT
      // days), which promote reads; each imported log file once, by digest, with the times it
      // covers. A journal state for NARs put back into S3 after their drain.
      """
      CREATE TABLE access_records (
        subject TEXT PRIMARY KEY,
        last_millis BIGINT NOT NULL,
        requests BIGINT NOT NULL
      );
      CREATE TABLE access_days (
        store_hash TEXT NOT NULL,
        day INTEGER NOT NULL,
        requests BIGINT NOT NULL,
        PRIMARY KEY (store_hash, day)
      );
      CREATE INDEX access_days_by_day ON access_days(day);
      CREATE TABLE access_imports (
        digest TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        requests BIGINT NOT NULL,
        first_millis BIGINT NOT NULL,
        last_millis BIGINT NOT NULL,
        imported_millis BIGINT NOT NULL
      );
      INSERT INTO journal_totals (state, objects, bytes) VALUES ('restored', 0, 0);
      """,
      // 18: the bucket a restored NAR was put back into (promote, restore): NULL for rows put back
      // before it was recorded, and for rows not restored.
      """
      ALTER TABLE journal ADD COLUMN restored_to TEXT;
      """,
      // 19: takedown (Forgotten): the store paths the archive forgets, each with its signed tombstone
      // (a document stored on holders, kind 'tombstone'), and whether its S3 objects are still to
      // be deleted ('pending') or gone ('deleted').
      """
      CREATE TABLE forgotten (
        store_hash TEXT PRIMARY KEY,
        file_key TEXT NOT NULL,
        file_hash TEXT NOT NULL,
        nar_hash TEXT NOT NULL,
        pack_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        forgotten_millis BIGINT NOT NULL,
        doc_id TEXT NOT NULL,
        s3_objects TEXT NOT NULL
      );
      CREATE INDEX forgotten_by_file_key ON forgotten(file_key);
      CREATE INDEX forgotten_by_s3 ON forgotten(s3_objects);
      """,
      // 20: backstops (Backstops): a pack's copy of last resort, one object in a bucket of the cache's
      // S3 store holding the pack's bytes and its signed manifest; recorded once it was uploaded
      // and checked, before any NAR of the pack is drained. No SHA-256 for one a catalog rebuild
      // found by listing the bucket.
      """
      CREATE TABLE pack_backstops (
        pack_id TEXT PRIMARY KEY,
        bucket TEXT NOT NULL,
        object_key TEXT NOT NULL,
        object_length BIGINT NOT NULL,
        sha256 TEXT,
        placed_millis BIGINT NOT NULL
      );
      """,
      // 21: retired packs (PackRecords#commitRewrite): a pack rewritten without its forgotten NARs
      // keeps its row, marked retired with the pack that replaced it; its copies are garbage, and
      // neither repair nor new aliases touch it.
      """
      ALTER TABLE packs ADD COLUMN retired_millis BIGINT;
      ALTER TABLE packs ADD COLUMN retired_by TEXT;
      """);

  private Schema() {}
}