/*
 * Versioned state over replication: a follower applies the primary's
 * commits, rollbacks and prune rounds, its in-memory view of the versions
 * catching up (reads refused below the new earliest, history dropped by
 * its compactions); it reports the version it has applied in its acks,
 * the primary never prunes past the slowest connected follower, and once
 * promoted it refuses plain writes like any versioned database.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/workload.h"
#include "repl_fixture.h"

#define KEYS_PER_VERSION 20

static void reopen_primary(struct fx *f, uint64_t keep_recent)
{
    rs_wal_primary_stop(f->primary);
    rs_store_close(f->store);
    rs_store_config cfg = {.sync = RS_STORE_SYNC_NONE, .write_buffer_bytes = 1 << 20,
                           .prune = {RS_STORE_PRUNE_CUSTOM, keep_recent, 0, 1000}};
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(f->pdb, &cfg, &f->store, &err) != RS_OK)
        fail_msg("reopen the primary: %s", err.msg);
    start_primary(f, 0);
}

/* Version v writes "acct-<i>" for i < KEYS_PER_VERSION, each 256 random
 * bytes (so compression cannot hide what pruning drops). */
static void commit_versions(rs_store *s, uint64_t first, uint64_t last)
{
    rs_workload wl = {.seed = 4, .key_size = 8, .value_size = 256, .compressibility = 0};
    uint8_t val[256];
    char key[16];
    rs_err err = RS_ERR_INIT;
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    for (uint64_t v = first; v <= last; v++) {
        rs_store_batch_clear(b);
        for (int i = 0; i < KEYS_PER_VERSION; i++) {
            int kl = snprintf(key, sizeof key, "acct-%d", i);
            rs_workload_value(&wl, v * KEYS_PER_VERSION + (uint64_t)i, val);
            rs_store_batch_put(b, B(key), (size_t)kl, val, sizeof val);
        }
        if (rs_store_commit(s, v, b, &err) != RS_OK)
            fail_msg("commit %" PRIu64 ": %s", v, err.msg);
    }
    rs_store_batch_destroy(b);
}

/* Both stores read "acct-3" alike at version v. */
static void same_at(rs_store *a, rs_store *b, uint64_t v)
{
    rs_store_value x = {0}, y = {0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_get_at(a, v, B("acct-3"), 6, &x, &err), RS_OK);
    assert_int_equal(rs_store_get_at(b, v, B("acct-3"), 6, &y, &err), RS_OK);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.data, y.data, x.len);
    rs_store_value_release(&x);
    rs_store_value_release(&y);
}

static void range_is(rs_store *s, uint64_t earliest, uint64_t latest)
{
    uint64_t e = 0, l = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_range(s, &e, &l, &err), RS_OK);
    if (e != earliest || l != latest)
        fail_msg("readable [%" PRIu64 ", %" PRIu64 "], expected [%" PRIu64 ", %" PRIu64 "]", e, l, earliest,
                 latest);
}

struct acked {
    rs_wal_primary *p;
    uint64_t        version;
};

static int primary_sees_version(void *arg)
{
    struct acked *a = arg;
    rs_wal_follower_info fi[2];
    return rs_wal_primary_followers(a->p, fi, 2) == 1 && fi[0].acked_version == a->version;
}

/* The follower's status and the primary's view of it both say v. */
static void applied_version_is(struct fx *f, rs_wal_follower *fo, uint64_t v)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(fo, &st);
    assert_int_equal(st.applied_version, v);
    struct acked a = {f->primary, v};
    if (!rs_test_poll(primary_sees_version, &a, WAIT_MS))
        fail_msg("the primary never saw the follower ack version %" PRIu64, v);
}

/* ---- tests ------------------------------------------------------------------ */

static void follower_applies_versions_and_reports_them(void **state)
{
    struct fx *f = *state;
    commit_versions(f->store, 1, 20);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    applied_version_is(f, fo, 20); /* bootstrapped by checkpoint */
    commit_versions(f->store, 21, 30);
    caught_up(fo, f->store);
    applied_version_is(f, fo, 30); /* streamed */
    rs_store *fs = rs_wal_follower_store_acquire(fo);
    range_is(fs, 1, 30);
    same_at(f->store, fs, 7);
    same_at(f->store, fs, 25);
    rs_wal_follower_store_release(fo);

    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_rollback(f->store, 26, &err), RS_OK);
    caught_up(fo, f->store);
    applied_version_is(f, fo, 26);
    fs = rs_wal_follower_store_acquire(fo);
    range_is(fs, 1, 26);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get_at(fs, 28, B("acct-3"), 6, &v, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "not committed yet; readable versions are [1, 26]"));
    rs_wal_follower_store_release(fo);
    same_content(fo, f->store);

    /* promoted, it is a versioned primary: plain writes refused, the next
     * version commits */
    rs_store *promoted = NULL;
    rs_err_clear(&err);
    assert_int_equal(rs_wal_follower_promote(fo, &promoted, &err), RS_OK);
    assert_int_equal(rs_store_put(promoted, B("acct-3"), 6, B("x"), 1, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "holds versioned state"));
    commit_versions(promoted, 27, 27);
    range_is(promoted, 1, 27);
    rs_store_close(promoted);
}

static void follower_applies_the_primarys_prune(void **state)
{
    struct fx *f = *state;
    reopen_primary(f, 5);
    commit_versions(f->store, 1, 50);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    applied_version_is(f, fo, 50);

    rs_store_prune_result res;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_prune(f->store, &res, &err), RS_OK);
    assert_int_equal(res.earliest_after, 45);
    caught_up(fo, f->store);
    applied_version_is(f, fo, 50); /* a prune moves earliest, not latest */

    rs_store *fs = rs_wal_follower_store_acquire(fo);
    range_is(fs, 45, 50);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get_at(fs, 44, B("acct-3"), 6, &v, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "pruned; readable versions are [45, 50]"));
    same_at(f->store, fs, 45);
    /* the follower's compactions drop the pruned history too: its store
     * learnt the new earliest when it applied the prune (reload). The 50
     * versions' history is 50 x 20 x 256 bytes, incompressible; the kept
     * versions' a tenth of it. (RocksDB may have compacted some already.) */
    rs_store_stats after;
    assert_int_equal(rs_store_flush(fs, &err), RS_OK);
    assert_int_equal(rs_store_compact(fs, &err), RS_OK);
    assert_int_equal(rs_store_stats_get(fs, &after, &err), RS_OK);
    print_message("      follower history after its compaction: %" PRIu64 " bytes\n", after.history_sst_bytes);
    assert_true(after.history_sst_bytes > 0);
    assert_true(after.history_sst_bytes < 50 * KEYS_PER_VERSION * 256 / 4);
    rs_wal_follower_store_release(fo);
    same_content(fo, f->store);
    rs_wal_follower_stop(fo);
}

static rs_code ack_version(struct fx *f, wal_conn *c, uint64_t version)
{
    wal_ack a = {.applied_version = version};
    rs_store_chain(f->store, &a.applied_seq, a.chain);
    a.durable_seq = a.applied_seq;
    rs_err err = RS_ERR_INIT;
    return wal_send_ack(c, &a, &err);
}

static uint64_t prune_now(rs_store *s)
{
    rs_store_prune_result res;
    rs_err err = RS_ERR_INIT;
    if (rs_store_prune(s, &res, &err) != RS_OK)
        fail_msg("prune: %s", err.msg);
    return res.earliest_after;
}

static int no_follower(void *arg) { return rs_wal_primary_followers(arg, NULL, 0) == 0; }

static void pruning_never_passes_the_slowest_follower(void **state)
{
    struct fx *f = *state;
    reopen_primary(f, 2);
    commit_versions(f->store, 1, 20);
    wal_conn *c = raw_follower(f);
    struct acked a = {f->primary, 5};
    assert_int_equal(ack_version(f, c, 5), RS_OK);
    assert_true(rs_test_poll(primary_sees_version, &a, WAIT_MS));
    assert_int_equal(prune_now(f->store), 5); /* the policy asks for 18 */
    a.version = 12;
    assert_int_equal(ack_version(f, c, 12), RS_OK);
    assert_true(rs_test_poll(primary_sees_version, &a, WAIT_MS));
    assert_int_equal(prune_now(f->store), 12);
    wal_conn_close(c);
    assert_true(rs_test_poll(no_follower, f->primary, WAIT_MS));
    assert_int_equal(prune_now(f->store), 18); /* none connected: the policy alone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(follower_applies_versions_and_reports_them, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_applies_the_primarys_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(pruning_never_passes_the_slowest_follower, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
