/*
 * Replication across chaining's transitions (rs_store_set_chained). A
 * primary restarted without replication writes unchained batches; started
 * with it again, it chains, and a follower resuming across the unchained
 * stretch is resynced by checkpoint, whether it meets the stretch at the
 * start of its session or in the middle of its stream: it never applies
 * one. A follower's database written on its own cannot pass for its
 * primary's, even over the same sequences.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repl_fixture.h"
#include "testlib/teststore.h"

/* The primary restarted without replication and back: its shipper stops,
 * its database is reopened (unchained) and n keys written from key from,
 * then it is reopened and served again (chained from then on). */
static void restart_without_replication(struct fx *f, int from, int n)
{
    rs_wal_primary_stop(f->primary);
    f->primary = NULL;
    rs_store_close(f->store);
    f->store = open_store(f->pdb);
    assert_false(rs_store_is_chained(f->store));
    write_keys(f->store, from, n);
    rs_store_close(f->store);
    f->store = open_store(f->pdb);
    start_primary(f, 0);
    assert_true(rs_store_is_chained(f->store));
}

static rs_wal_follower_status status_of(rs_wal_follower *fo)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(fo, &st);
    return st;
}

/* The follower's next batch is the restart that opens the stretch: the
 * primary sees it before it welcomes the stream and sends a checkpoint. */
static void follower_resumes_across_unchained_batches_by_checkpoint(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 300);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    rs_wal_follower_stop(fo);
    restart_without_replication(f, 300, 100);
    write_keys(f->store, 400, 100);
    fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    same_content(fo, f->store);
    assert_int_equal(status_of(fo).n_resyncs, 1);
    assert_int_equal(status_of(fo).n_divergences, 0);
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(f->primary, &ps);
    assert_int_equal(ps.n_checkpoints, 1);
    assert_true(log_says(f, "cannot resume at seq="));
    assert_true(log_says(f, "restarts the chain: this primary wrote unchained"));
    rs_wal_follower_stop(fo);
}

/* The follower is behind by chained batches, then the stretch: it streams
 * the chained ones, then the primary ends the stream with the reason, and
 * the follower comes back for a checkpoint. */
static void streaming_follower_meets_unchained_batches_and_resyncs(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 300);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    rs_wal_follower_stop(fo);
    write_keys(f->store, 300, 200); /* chained, while it is away */
    restart_without_replication(f, 500, 100);
    write_keys(f->store, 600, 100);
    fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    same_content(fo, f->store);
    assert_int_equal(status_of(fo).n_resyncs, 1);
    /* (the follower may see the refusal, or come back before it reads it
     * and be sent the checkpoint at the start of its next session) */
    assert_true(log_says(f, "must resync by checkpoint: batch at seq"));
    rs_wal_follower_stop(fo);
}

/* The follower's database was served on its own (not promoted, so with
 * the same history) while the primary ran without replication: both wrote
 * unchained over the same sequences. Each restarted its chain with its own
 * random value, so the first chained batch shows the divergence. */
static void follower_database_written_on_its_own_is_resynced(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 300);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    rs_wal_follower_stop(fo);
    rs_store *own = open_store(f->fdb);
    write_keys(own, 10000, 50);
    uint64_t own_latest = rs_store_latest_seq(own);
    rs_store_close(own);
    restart_without_replication(f, 300, 50);
    assert_int_equal(rs_store_latest_seq(f->store), own_latest);
    write_keys(f->store, 350, 10);
    fo = start_follower(f, &f->key, 0);
    assert_true(rs_test_poll(resynced, fo, WAIT_MS));
    caught_up(fo, f->store);
    same_content(fo, f->store);
    assert_true(status_of(fo).n_divergences >= 1);
    rs_store *fs = rs_wal_follower_store_acquire(fo);
    rs_test_expect_missing(fs, NULL, "key-010000"); /* its own writes are gone */
    rs_wal_follower_store_release(fo);
    rs_wal_follower_stop(fo);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(follower_resumes_across_unchained_batches_by_checkpoint),
        T(streaming_follower_meets_unchained_batches_and_resyncs),
        T(follower_database_written_on_its_own_is_resynced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
