/*
 * store: the sync policies. GROUP shares one WAL fsync among concurrent
 * writers, NONE never fsyncs, ALWAYS fsyncs each write group (one write
 * alone, or the writes of concurrent writers: RocksDB's groups unchained,
 * ours chained); and under GROUP and ALWAYS, chained or not, a process
 * killed with SIGKILL keeps every write it acknowledged.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

#define N_THREADS 16
#define PUTS_PER_THREAD 200

static int setup(void **state)
{
    *state = rs_test_db_make("sync", 0);
    return 0;
}

static int teardown(void **state)
{
    rs_test_db_close(*state);
    return 0;
}

static rs_store *open_with_gap(struct rs_test_db *f, rs_store_sync sync, uint32_t gap_us)
{
    rs_store_config cfg = {.create_if_missing = 1, .sync = sync, .group_commit_us = gap_us};
    return rs_test_store_open(f->db, &cfg);
}

static rs_store *open_with(struct rs_test_db *f, rs_store_sync sync) { return open_with_gap(f, sync, 0); }

static uint64_t wal_syncs(rs_store *s)
{
    rs_store_stats st;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_stats_get(s, &st, &err), RS_OK);
    return st.wal_syncs;
}

/* ---- many writers --------------------------------------------------- */

struct writer {
    rs_store     *store;
    unsigned long first;
};

static void *write_range(void *arg)
{
    struct writer *w = arg;
    rs_test_put_numbered(w->store, w->first, w->first + PUTS_PER_THREAD);
    return NULL;
}

/* Runs N_THREADS writers of PUTS_PER_THREAD puts each; returns the WAL
 * fsyncs they cost and in *elapsed_us how long they took. Every key is
 * then readable, and after a reopen too. */
static uint64_t concurrent_puts_in(struct rs_test_db *f, rs_store_sync sync, uint32_t gap_us, int chained,
                                   uint64_t *elapsed_us)
{
    rs_store *s = open_with_gap(f, sync, gap_us);
    rs_store_set_chained(s, chained);
    uint64_t before = wal_syncs(s), t0 = rs_clock_mono_ns();
    pthread_t t[N_THREADS];
    struct writer w[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (struct writer){.store = s, .first = (unsigned long)i * PUTS_PER_THREAD};
        assert_int_equal(pthread_create(&t[i], NULL, write_range, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t syncs = wal_syncs(s) - before;
    if (elapsed_us != NULL)
        *elapsed_us = (rs_clock_mono_ns() - t0) / 1000u;
    rs_store_close(s);
    s = open_with(f, sync);
    rs_test_expect_numbered(s, NULL, 0, N_THREADS * PUTS_PER_THREAD);
    rs_store_close(s);
    print_message("      %s%s: %d puts from %d threads, %llu WAL fsyncs\n", rs_store_sync_name(sync),
                  chained ? " chained" : "", N_THREADS * PUTS_PER_THREAD, N_THREADS, (unsigned long long)syncs);
    return syncs;
}

static uint64_t concurrent_puts(struct rs_test_db *f, rs_store_sync sync, uint32_t gap_us, uint64_t *elapsed_us)
{
    return concurrent_puts_in(f, sync, gap_us, 0, elapsed_us);
}

static void group_commit_shares_fsyncs_among_writers(void **state)
{
    uint64_t syncs = concurrent_puts(*state, RS_STORE_SYNC_GROUP, 0, NULL);
    assert_true(syncs > 0);
    assert_true(syncs * 4 < N_THREADS * PUTS_PER_THREAD);
}

/* group_commit_us spaces the fsyncs: never two starts closer than it. */
static void group_commit_gap_spaces_fsyncs(void **state)
{
    uint64_t elapsed_us = 0;
    uint64_t syncs = concurrent_puts(*state, RS_STORE_SYNC_GROUP, 2000, &elapsed_us);
    print_message("      %llu fsyncs in %llu us with a 2000 us gap\n", (unsigned long long)syncs,
                  (unsigned long long)elapsed_us);
    assert_true(syncs > 0);
    assert_true((syncs - 1) * 2000 <= elapsed_us);
}

static void none_never_fsyncs(void **state)
{
    assert_int_equal(concurrent_puts(*state, RS_STORE_SYNC_NONE, 0, NULL), 0);
}

/* ALWAYS, chained: each write is fsync'd before it returns (and before it
 * is visible); concurrent writers share the fsync of their write group
 * (store_group.c), one counted per group. */
static void always_shares_fsyncs_among_concurrent_writers(void **state)
{
    uint64_t syncs = concurrent_puts_in(*state, RS_STORE_SYNC_ALWAYS, 0, 1, NULL);
    assert_true(syncs > 0);
    assert_true(syncs * 4 < N_THREADS * PUTS_PER_THREAD);
}

/* ALWAYS, unchained: synced writes take the write groups too. */
static void always_unchained_writers_share_fsyncs(void **state)
{
    uint64_t syncs = concurrent_puts(*state, RS_STORE_SYNC_ALWAYS, 0, NULL);
    assert_true(syncs > 0);
    assert_true(syncs * 4 < N_THREADS * PUTS_PER_THREAD);
}

static void always_fsyncs_every_write(void **state)
{
    struct rs_test_db *f = *state;
    rs_store *s = open_with(f, RS_STORE_SYNC_ALWAYS);
    uint64_t before = wal_syncs(s);
    rs_test_put_numbered(s, 0, 100);
    rs_err err = RS_ERR_INIT;
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, B("batched"), 7, B("x"), 1);
    assert_int_equal(rs_store_write(s, b, &err), RS_OK);
    rs_store_batch_destroy(b);
    assert_int_equal(wal_syncs(s) - before, 101);
    rs_store_close(s);
}

static void sync_wait_makes_nowait_writes_durable(void **state)
{
    struct rs_test_db *f = *state;
    static const rs_store_sync policies[] = {RS_STORE_SYNC_GROUP, RS_STORE_SYNC_ALWAYS};
    for (size_t p = 0; p < 2; p++) {
        rs_store *s = open_with(f, policies[p]);
        rs_err err = RS_ERR_INIT;
        rs_store_batch *b = NULL;
        assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
        rs_store_batch_put(b, B("nowait"), 6, B("1"), 1);
        uint64_t before = wal_syncs(s), seq = 0;
        assert_int_equal(rs_store_write_nowait(s, b, &seq, &err), RS_OK);
        assert_true(seq >= rs_store_latest_seq(s));
        assert_int_equal(wal_syncs(s), before); /* not yet */
        assert_int_equal(rs_store_sync_wait(s, seq, &err), RS_OK);
        assert_int_equal(wal_syncs(s), before + 1);
        /* already durable: no second fsync */
        assert_int_equal(rs_store_sync_wait(s, seq, &err), RS_OK);
        assert_int_equal(wal_syncs(s), before + 1);
        rs_store_batch_destroy(b);
        rs_store_close(s);
    }
}

/* ---- blocking writers and asynchronous requests together ------------ */

static void count_call(void *arg) { atomic_fetch_add((_Atomic int *)arg, 1); }

struct synced_ctx {
    rs_store *store;
    uint64_t  seq;
};

static int synced_covers(void *arg)
{
    struct synced_ctx *c = arg;
    uint64_t synced = 0;
    return rs_store_synced_seq(c->store, &synced, NULL) == RS_OK && synced >= c->seq;
}

/* An fsync led by a blocking writer tells the listener too, and a request
 * made while writers lead fsyncs is served (by them or the syncer thread). */
static void requests_and_blocking_writers_share_fsyncs(void **state)
{
    struct rs_test_db *f = *state;
    rs_store *s = open_with(f, RS_STORE_SYNC_GROUP);
    _Atomic int calls = 0;
    rs_store_sync_listen(s, count_call, (void *)&calls);
    rs_test_put(s, "blocking", "1"); /* led by this thread */
    assert_true(atomic_load(&calls) >= 1);

    pthread_t t[N_THREADS];
    struct writer w[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (struct writer){.store = s, .first = (unsigned long)i * PUTS_PER_THREAD};
        assert_int_equal(pthread_create(&t[i], NULL, write_range, &w[i]), 0);
    }
    rs_err err = RS_ERR_INIT;
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    for (int i = 0; i < 50; i++) {
        rs_store_batch_clear(b);
        rs_store_batch_put(b, B("async"), 5, B("x"), 1);
        struct synced_ctx c = {.store = s};
        assert_int_equal(rs_store_write_nowait(s, b, &c.seq, &err), RS_OK);
        rs_store_sync_request(s, c.seq);
        assert_true(rs_test_poll(synced_covers, &c, 10000));
    }
    rs_store_batch_destroy(b);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    rs_store_sync_listen(s, NULL, NULL);
    print_message("      listener told of %d fsyncs, %llu in all\n", atomic_load(&calls),
                  (unsigned long long)wal_syncs(s));
    assert_int_equal((uint64_t)atomic_load(&calls), wal_syncs(s));
    rs_store_close(s);
}

/* ---- kill -9 -------------------------------------------------------- */

/* Starts the helper writing under policy, reads its "ok N" lines until it
 * has acknowledged at least want puts, kills it with SIGKILL, and checks
 * that every acknowledged key is in the reopened database. */
static void acknowledged_writes_survive_kill(struct rs_test_db *f, const char *policy, int chained,
                                            unsigned long want)
{
    char *helper = rs_test_helper("rs_store_helper");
    char *argv[] = {helper, "write", f->db, (char *)policy, chained ? "chained" : NULL, NULL};
    int out = -1;
    pid_t pid = rs_test_spawn(argv, &out, -1);
    char line[128];
    unsigned long acked = 0;
    int have_any = 0;
    while (!have_any || acked + 1 < want) {
        if (rs_test_read_line(out, line, sizeof line, 30000) < 0)
            fail_msg("helper stopped after %lu acknowledged puts", acked);
        if (sscanf(line, "ok %lu", &acked) != 1)
            fail_msg("helper said '%s'", line);
        have_any = 1;
    }
    kill(pid, SIGKILL);
    assert_int_equal(rs_test_wait(pid, 30000), 128 + SIGKILL);
    /* every line it printed before it died was an acknowledgement */
    while (rs_test_read_line(out, line, sizeof line, 5000) >= 0)
        if (sscanf(line, "ok %lu", &acked) != 1)
            fail_msg("helper said '%s'", line);
    close(out);
    free(helper);

    rs_store *s = rs_test_store_open(f->db, NULL);
    rs_test_expect_numbered(s, NULL, 0, acked + 1);
    print_message("      %s%s: all %lu acknowledged puts survived SIGKILL\n", policy, chained ? " chained" : "",
                  acked + 1);
    rs_store_close(s);
}

static void group_acknowledged_writes_survive_kill(void **state)
{
    acknowledged_writes_survive_kill(*state, "group", 0, 3000);
}

static void always_acknowledged_writes_survive_kill(void **state)
{
    acknowledged_writes_survive_kill(*state, "always", 0, 2000);
}

static void always_chained_acknowledged_writes_survive_kill(void **state)
{
    acknowledged_writes_survive_kill(*state, "always", 1, 2000);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(group_commit_shares_fsyncs_among_writers),
        T(group_commit_gap_spaces_fsyncs),
        T(none_never_fsyncs),
        T(always_shares_fsyncs_among_concurrent_writers),
        T(always_unchained_writers_share_fsyncs),
        T(always_fsyncs_every_write),
        T(sync_wait_makes_nowait_writes_durable),
        T(requests_and_blocking_writers_share_fsyncs),
        T(group_acknowledged_writes_survive_kill),
        T(always_acknowledged_writes_survive_kill),
        T(always_chained_acknowledged_writes_survive_kill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
