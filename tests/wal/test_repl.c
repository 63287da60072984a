/*
 * Replication end to end inside one process: a primary store with its
 * shipper on 127.0.0.1 (a free port) and followers in their own
 * directories, over real TCP. Bootstrap by checkpoint, catch-up, resume at
 * latest + 1, refusals (key, database, history) seen on both sides,
 * encryption, WAIT, promotion, and a resync when the WAL moved past.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "common/clock.h"
#include "repl_fixture.h"

/* ---- tests ------------------------------------------------------------------ */

static void empty_follower_bootstraps_then_streams(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 2000);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    write_keys(f->store, 2000, 2000);
    caught_up(fo, f->store);
    same_content(fo, f->store);
    rs_wal_follower_status st;
    rs_wal_follower_status_get(fo, &st);
    assert_int_equal(st.state, RS_WAL_FOLLOWER_STREAMING);
    assert_int_equal(st.n_resyncs, 1);
    /* the follower's database takes no writes of its own */
    rs_store *fs = rs_wal_follower_store_acquire(fo);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(fs, B("x"), 1, B("y"), 1, &err), RS_E_UNSUPPORTED);
    rs_wal_follower_store_release(fo);
    /* and the primary sees it, with its acks */
    uint64_t latest = rs_store_latest_seq(f->store);
    assert_int_equal(rs_wal_primary_wait(f->primary, latest, 1, WAIT_MS), 1);
    rs_wal_follower_info info[4];
    assert_int_equal(rs_wal_primary_followers(f->primary, info, 4), 1);
    assert_string_equal(info[0].name, "test-follower");
    assert_int_equal(info[0].acked_seq, latest);
    rs_wal_follower_stop(fo);
}

static void follower_resumes_at_latest_plus_one(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 500);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    rs_wal_follower_stop(fo);
    write_keys(f->store, 500, 500); /* while it is away */
    rs_wal_primary_stop(f->primary); /* and the primary restarts too */
    start_primary(f, 0);
    fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    same_content(fo, f->store);
    rs_wal_follower_status st;
    rs_wal_follower_status_get(fo, &st);
    assert_int_equal(st.n_resyncs, 0); /* resumed, no checkpoint */
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(f->primary, &ps);
    assert_int_equal(ps.n_checkpoints, 0);
    rs_wal_follower_stop(fo);
}

static void wrong_key_is_refused_on_both_sides(void **state)
{
    struct fx *f = *state;
    rs_wal_key other;
    randombytes_buf(other.bytes, sizeof other.bytes);
    rs_wal_follower *fo = start_follower(f, &other, 0);
    rs_wal_follower_status st;
    assert_int_equal(wait_stopped(fo, &st), RS_WAL_FOLLOWER_REFUSED);
    assert_non_null(strstr(st.last_error.msg, "replication key differs"));
    rs_wal_follower_stop(fo);
    assert_true(log_says(f, "refused by peer: the primary could not prove it holds the replication key"));
    /* no key material in any message */
    char hex[2 * RS_WAL_KEY_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, f->key.bytes, sizeof f->key.bytes);
    assert_false(log_has(f, hex));
    sodium_bin2hex(hex, sizeof hex, other.bytes, sizeof other.bytes);
    assert_false(log_has(f, hex));
    assert_null(strstr(st.last_error.msg, hex));
}

static void other_database_is_refused_and_left_alone(void **state)
{
    struct fx *f = *state;
    rs_store *o = open_store(f->fdb);
    write_keys(o, 0, 10);
    uint64_t before = rs_store_latest_seq(o);
    rs_store_close(o);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    rs_wal_follower_status st;
    assert_int_equal(wait_stopped(fo, &st), RS_WAL_FOLLOWER_REFUSED);
    assert_non_null(strstr(st.last_error.msg, "other database"));
    rs_wal_follower_stop(fo);
    assert_true(log_says(f, "refused: other database"));
    o = open_store(f->fdb); /* untouched */
    assert_int_equal(rs_store_latest_seq(o), before);
    rs_store_close(o);
}

static void encrypted_session_replicates(void **state)
{
    struct fx *f = *state;
    rs_wal_primary_stop(f->primary);
    start_primary(f, 1);
    write_keys(f->store, 0, 300);
    rs_wal_follower *fo = start_follower(f, &f->key, 1);
    caught_up(fo, f->store);
    write_keys(f->store, 300, 300);
    caught_up(fo, f->store);
    same_content(fo, f->store);
    rs_wal_follower_stop(fo);
}

static void unencrypted_follower_refused_when_required(void **state)
{
    struct fx *f = *state;
    rs_wal_primary_stop(f->primary);
    start_primary(f, 1);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    rs_wal_follower_status st;
    assert_int_equal(wait_stopped(fo, &st), RS_WAL_FOLLOWER_REFUSED);
    assert_non_null(strstr(st.last_error.msg, "requires an encrypted session"));
    rs_wal_follower_stop(fo);
}

static void wal_moved_past_follower_resyncs_by_checkpoint(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 100);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    rs_wal_follower_stop(fo);
    write_keys(f->store, 100, 1000);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    write_keys(f->store, 1100, 10);
    drop_archived_wal(f);
    fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    same_content(fo, f->store);
    rs_wal_follower_status st;
    rs_wal_follower_status_get(fo, &st);
    assert_int_equal(st.n_resyncs, 1);
    assert_true(log_says(f, "fell past the WAL"));
    rs_wal_follower_stop(fo);
}

static void acked_write_survives_failover(void **state)
{
    struct fx *f = *state;
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(f->store, B("precious"), 8, B("block-42"), 8, &err), RS_OK);
    uint64_t seq = rs_store_latest_seq(f->store);
    assert_int_equal(rs_wal_primary_wait(f->primary, seq, 1, WAIT_MS), 1);
    assert_int_equal(rs_wal_primary_count_acked(f->primary, seq + 1000), 0);
    uint8_t old_history[RS_WAL_HISTORY_BYTES], new_history[RS_WAL_HISTORY_BYTES];
    assert_int_equal(rs_wal_history_current(f->store, old_history, &err), RS_OK);
    /* the primary goes away; the follower takes over */
    rs_wal_primary_stop(f->primary);
    f->primary = NULL;
    rs_store *ns = NULL;
    assert_int_equal(rs_wal_follower_promote(fo, &ns, &err), RS_OK);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(ns, NULL, B("precious"), 8, &v, &err), RS_OK);
    assert_memory_equal(v.data, "block-42", 8);
    rs_store_value_release(&v);
    assert_int_equal(rs_wal_history_current(ns, new_history, &err), RS_OK);
    assert_memory_not_equal(old_history, new_history, RS_WAL_HISTORY_BYTES);
    assert_int_equal(rs_store_put(ns, B("after"), 5, B("promotion"), 9, &err), RS_OK);
    rs_store_close(ns);
    start_primary(f, 0); /* for teardown */
}

static void old_primary_with_extra_writes_is_refused_as_diverged(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 50);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    rs_err err = RS_ERR_INIT;
    rs_store *promoted = NULL;
    assert_int_equal(rs_wal_follower_promote(fo, &promoted, &err), RS_OK);
    /* the old primary takes one more write the new one never sees */
    write_keys(f->store, 50, 1);
    rs_wal_primary_stop(f->primary);
    f->primary = NULL;
    rs_store_close(f->store);
    /* the new primary serves; the old one tries to follow it */
    f->store = promoted;
    char *tmp = f->pdb;
    f->pdb = f->fdb;
    f->fdb = tmp;
    start_primary(f, 0);
    fo = start_follower(f, &f->key, 0);
    rs_wal_follower_status st;
    assert_int_equal(wait_stopped(fo, &st), RS_WAL_FOLLOWER_REFUSED);
    assert_non_null(strstr(st.last_error.msg, "diverged history"));
    rs_wal_follower_stop(fo);
    assert_true(log_says(f, "diverged history"));
    /* allowed to, it discards its extra write and rebuilds */
    fo = start_follower_opts(f, &f->key, 0, 1);
    assert_true(rs_test_poll(resynced, fo, WAIT_MS));
    caught_up(fo, f->store);
    same_content(fo, f->store);
    rs_wal_follower_stop(fo);
}

static void sibling_follower_follows_the_promoted_one_without_resync(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 200);
    rs_wal_follower *f1 = start_follower(f, &f->key, 0);
    caught_up(f1, f->store);
    char *f1_path = f->fdb;
    f->fdb = rs_test_path(f->dir, "follower2");
    rs_wal_follower *f2 = start_follower(f, &f->key, 0);
    caught_up(f2, f->store);
    caught_up(f1, f->store);
    rs_wal_follower_stop(f2);
    /* failover: the first follower becomes the primary */
    rs_err err = RS_ERR_INIT;
    rs_store *promoted = NULL;
    rs_wal_primary_stop(f->primary);
    assert_int_equal(rs_wal_follower_promote(f1, &promoted, &err), RS_OK);
    assert_true(rs_store_is_chained(promoted)); /* a primary from its first write */
    rs_store_close(f->store);
    f->store = promoted;
    free(f->pdb);
    f->pdb = f1_path;
    start_primary(f, 0);
    write_keys(f->store, 200, 100);
    f2 = start_follower(f, &f->key, 0);
    caught_up(f2, f->store);
    same_content(f2, f->store);
    rs_wal_follower_status st;
    rs_wal_follower_status_get(f2, &st);
    assert_int_equal(st.n_resyncs, 0);
    uint8_t h[RS_WAL_HISTORY_BYTES];
    assert_int_equal(rs_wal_history_current(f->store, h, &err), RS_OK);
    assert_memory_equal(st.history, h, sizeof h); /* it took on the new history */
    rs_wal_follower_stop(f2);
}

static int bootstrapping(void *arg)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(arg, &st);
    return st.state == RS_WAL_FOLLOWER_BOOTSTRAPPING;
}

static void resync_that_cannot_catch_up_stops_instead_of_looping(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 1000);
    rs_wal_primary_stop(f->primary);
    start_primary_rate(f, 0, 64u << 10); /* a slow transfer: 64 KiB/s */
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    assert_true(rs_test_poll(bootstrapping, fo, WAIT_MS));
    /* the follower bootstraps before the primary has taken the checkpoint:
     * the writes below must come after it */
    assert_true(log_says(f, "sending checkpoint"));
    /* meanwhile the WAL moves past the checkpoint being sent */
    write_keys(f->store, 1000, 100);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    drop_archived_wal(f);
    rs_wal_follower_status st;
    assert_int_equal(wait_stopped(fo, &st), RS_WAL_FOLLOWER_FAILED);
    assert_non_null(strstr(st.last_error.msg, "still behind after a resync"));
    assert_int_equal(st.n_resyncs, 1); /* one checkpoint, not a loop of them */
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(f->primary, &ps);
    assert_int_equal(ps.n_checkpoints, 1);
    rs_wal_follower_stop(fo);
}

static void follower_with_writes_of_its_own_is_named_diverged_not_behind(void **state)
{
    struct fx *f = *state;
    write_keys(f->store, 0, 50);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    rs_wal_follower_stop(fo);
    /* the follower's database served on its own takes a batch of two puts:
     * with its chain restart, three sequences, so its latest falls inside
     * one of the primary's two-sequence batches */
    rs_store *own = open_store(f->fdb);
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, B("mine-1"), 6, B("x"), 1);
    rs_store_batch_put(b, B("mine-2"), 6, B("y"), 1);
    assert_int_equal(rs_store_write(own, b, &err), RS_OK);
    rs_store_batch_destroy(b);
    uint64_t own_latest = rs_store_latest_seq(own);
    rs_store_close(own);
    write_keys(f->store, 50, 20);
    fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    same_content(fo, f->store);
    char want[96];
    snprintf(want, sizeof want, "diverged: its latest seq %llu is not the end of a batch",
             (unsigned long long)own_latest);
    assert_true(log_says(f, want));
    /* not blamed on retention: the WAL still holds everything */
    assert_false(log_has(f, "fell past the WAL"));
    assert_false(log_has(f, "no longer kept"));
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(f->primary, &ps);
    assert_int_equal(ps.n_divergences, 1);
    rs_wal_follower_stop(fo);
}

/* ---- a hand-driven follower, for what a real one never does ------------- */


static int slow_dropped(void *arg)
{
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(arg, &ps);
    return ps.n_slow_drops > 0;
}

/* 64 MB in 64 KiB puts: far more than any socket buffer holds. */
static void write_64mb(struct fx *f)
{
    rs_err err = RS_ERR_INIT;
    static uint8_t val[64 << 10];
    memset(val, 'x', sizeof val);
    for (int i = 0; i < 1000; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "big-%d", i);
        assert_int_equal(rs_store_put(f->store, B(k), (size_t)kl, val, sizeof val, &err), RS_OK);
    }
}

/* With a send deadline far longer than the writes take, every write is
 * done while the stalled follower is still connected: none waited for it.
 * (A bound on each write's time said the same, but failed on a loaded
 * machine whatever the follower did.) */
static void stalled_follower_never_holds_up_writes(void **state)
{
    struct fx *f = *state;
    rs_wal_primary_stop(f->primary);
    start_primary_deadline(f, 120000);
    wal_conn *c = raw_follower(f); /* it will never read a byte */
    uint64_t t0 = rs_clock_mono_ns();
    write_64mb(f);
    uint64_t took_ms = (rs_clock_mono_ns() - t0) / 1000000;
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(f->primary, &ps);
    assert_int_equal(ps.n_slow_drops, 0);
    rs_wal_follower_info info[2];
    assert_int_equal(rs_wal_primary_followers(f->primary, info, 2), 1);
    assert_true(info[0].sent_seq < rs_store_latest_seq(f->store)); /* it is still stuck */
    assert_true(took_ms < 60000);
    wal_conn_close(c);
}

static void stalled_follower_is_dropped_at_its_send_deadline(void **state)
{
    struct fx *f = *state;
    wal_conn *c = raw_follower(f);
    write_64mb(f);
    assert_true(rs_test_poll(slow_dropped, f->primary, WAIT_MS));
    assert_true(log_says(f, "took no data for 500 ms"));
    wal_conn_close(c);
}

/* A follower of protocol 2 (no MAC after the handshake) is told which
 * versions the two speak, before anything else. */
static void old_protocol_is_refused_naming_both_versions(void **state)
{
    struct fx *f = *state;
    rs_err err = RS_ERR_INIT;
    int fd = -1;
    wal_conn *c = NULL;
    assert_int_equal(wal_net_connect(f->addr, 3000, &fd, &err), RS_OK);
    assert_int_equal(wal_conn_create(fd, f->addr, 1u << 16, 3000, &c, &err), RS_OK);
    uint8_t hello[WAL_HELLO_BYTES] = {2, 0}; /* version 2, no flags, a nonce of zeros */
    assert_int_equal(wal_conn_send_msg(c, RS_WAL_FRAME_HELLO, hello, sizeof hello, &err), RS_OK);
    rs_wal_frame fr;
    assert_int_equal(wal_conn_expect(c, RS_WAL_FRAME_CHALLENGE, &fr, 3000, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "refused by peer: replication protocol version 2 is not supported: this "
                                    "primary speaks version 3"));
    wal_conn_close(c);
    assert_true(log_says(f, "replication protocol version 2 is not supported"));
}

static int diverged_counted(void *arg)
{
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(arg, &ps);
    return ps.n_divergences > 0;
}

static void ack_with_another_chain_is_a_divergence(void **state)
{
    struct fx *f = *state;
    wal_conn *c = raw_follower(f);
    write_keys(f->store, 0, 1);
    rs_wal_frame fr;
    rs_err err = RS_ERR_INIT;
    do
        assert_int_equal(wal_conn_recv(c, &fr, 3000, &err), RS_OK);
    while (fr.type != RS_WAL_FRAME_BATCH);
    wal_ack a = {.applied_seq = fr.first_seq + fr.count - 1, .durable_seq = 0};
    memset(a.chain, 0xee, sizeof a.chain);
    assert_int_equal(wal_send_ack(c, &a, &err), RS_OK);
    assert_true(rs_test_poll(diverged_counted, f->primary, WAIT_MS));
    /* and the follower is told to resync */
    rs_code rc;
    do
        rc = wal_conn_recv(c, &fr, 3000, &err);
    while (rc == RS_OK && fr.type != RS_WAL_FRAME_REFUSE);
    assert_int_equal(rc, RS_OK);
    assert_int_equal(wal_refusal_code(&fr), WAL_REFUSE_DIVERGED);
    wal_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(empty_follower_bootstraps_then_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_resumes_at_latest_plus_one, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_key_is_refused_on_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(other_database_is_refused_and_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(encrypted_session_replicates, setup, teardown),
        cmocka_unit_test_setup_teardown(unencrypted_follower_refused_when_required, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_moved_past_follower_resyncs_by_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(acked_write_survives_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(old_primary_with_extra_writes_is_refused_as_diverged, setup, teardown),
        cmocka_unit_test_setup_teardown(sibling_follower_follows_the_promoted_one_without_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(resync_that_cannot_catch_up_stops_instead_of_looping, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_with_writes_of_its_own_is_named_diverged_not_behind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stalled_follower_never_holds_up_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(stalled_follower_is_dropped_at_its_send_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_with_another_chain_is_a_divergence, setup, teardown),
        cmocka_unit_test_setup_teardown(old_protocol_is_refused_naming_both_versions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
