/*
 * store: chaining on and off (rs_store_set_chained). Off by default, a
 * batch takes its own sequence numbers and carries only the commit stamp;
 * on, every batch ends with the chain record. The first unchained batch
 * after chained ones restarts the chain, so a follower never takes an
 * unchained stretch for its own, and a checkpoint carries the chain value
 * at its sequence whatever came before. test_wal.c covers the chained
 * commit path itself, test_versioned.c versioned commits in both modes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

static int setup(void **state)
{
    rs_store_config cfg = {.sync = RS_STORE_SYNC_NONE, .write_buffer_bytes = 1 << 20};
    *state = rs_test_db_open("chain", 0, &cfg);
    return 0;
}

static int teardown(void **state)
{
    rs_test_db_close(*state);
    return 0;
}

/* What the WAL holds for the one batch written last. */
static rs_store_batch_info last_batch(rs_store *s, uint64_t first_seq)
{
    struct rs_test_batch b[2];
    assert_int_equal(rs_test_batches_read(s, first_seq, b, 2), 1);
    rs_store_batch_info info;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_inspect(NULL, b[0].rep, b[0].len, &info, &err), RS_OK);
    rs_test_batches_free(b, 1);
    return info;
}

/* Puts one key and returns what its WAL batch holds, checking that it
 * took want_seqs sequence numbers. */
static rs_store_batch_info put_taking(rs_store *s, const char *key, uint64_t want_seqs)
{
    uint64_t before = rs_store_latest_seq(s);
    rs_test_put(s, key, "v");
    assert_int_equal(rs_store_latest_seq(s) - before, want_seqs);
    rs_store_batch_info info = last_batch(s, before + 1);
    assert_int_equal(info.count, want_seqs);
    assert_true(info.commit_time_ns > 0); /* stamped, chained or not */
    return info;
}

/* ---- the modes ------------------------------------------------------- */

static void new_database_writes_unchained_from_a_restart(void **state)
{
    struct rs_test_db *d = *state;
    assert_false(rs_store_is_chained(d->store));
    uint64_t seq;
    uint8_t chain[RS_STORE_CHAIN_BYTES];
    rs_store_chain(d->store, &seq, chain);
    assert_true(rs_store_chain_is_restart(chain)); /* written with the database id */
    rs_store_batch_info info = put_taking(d->store, "a", 1);
    assert_false(info.has_chain);
    /* unchained writes leave the chain where it was, at every sequence */
    uint8_t after[RS_STORE_CHAIN_BYTES];
    rs_store_chain(d->store, &seq, after);
    assert_int_equal(seq, rs_store_latest_seq(d->store));
    assert_memory_equal(after, chain, sizeof chain);
}

static void chaining_on_chains_every_batch(void **state)
{
    struct rs_test_db *d = *state;
    rs_store_set_chained(d->store, 1);
    assert_true(rs_store_is_chained(d->store));
    for (int i = 0; i < 3; i++) {
        rs_store_batch_info info = put_taking(d->store, "k", 2);
        assert_true(info.has_chain);
        assert_false(info.chain_restart);
        uint64_t seq;
        uint8_t chain[RS_STORE_CHAIN_BYTES];
        rs_store_chain(d->store, &seq, chain);
        assert_int_equal(seq, rs_store_latest_seq(d->store));
        assert_memory_equal(chain, info.chain, sizeof chain);
    }
    rs_store_set_chained(d->store, 1); /* again: nothing changes */
    assert_true(put_taking(d->store, "k", 2).has_chain);
}

/* Off again: the next batch carries a restart, once; the restart is on
 * disk, so a reopened database writes unchained without another. */
static void chaining_off_restarts_the_chain_once(void **state)
{
    struct rs_test_db *d = *state;
    rs_store_set_chained(d->store, 1);
    put_taking(d->store, "a", 2);
    rs_store_set_chained(d->store, 0);
    assert_false(rs_store_is_chained(d->store));
    rs_store_batch_info info = put_taking(d->store, "b", 2);
    assert_true(info.has_chain && info.chain_restart);
    assert_false(put_taking(d->store, "c", 1).has_chain);
    rs_test_db_reopen(d);
    assert_false(put_taking(d->store, "d", 1).has_chain);
}

/* A database last written chained (a primary, stopped) opens unchained
 * and restarts its chain at its first write. */
static void reopened_chained_database_restarts_at_its_first_write(void **state)
{
    struct rs_test_db *d = *state;
    rs_store_set_chained(d->store, 1);
    put_taking(d->store, "a", 2);
    rs_test_db_reopen(d);
    assert_false(rs_store_is_chained(d->store));
    assert_true(put_taking(d->store, "b", 2).chain_restart);
    assert_false(put_taking(d->store, "c", 1).has_chain);
}

/* ---- followers ----------------------------------------------------------- */

static void follower_refuses_a_restart_and_an_unchained_batch(void **state)
{
    struct rs_test_db *d = *state;
    rs_store_set_chained(d->store, 1);
    put_taking(d->store, "a", 2);
    char *p1 = rs_test_path(d->dir, "f1"), *p2 = rs_test_path(d->dir, "f2");
    uint64_t base1, base2;
    rs_store *f1 = rs_test_follower_open(d->store, p1, NULL, &base1);
    rs_store_set_chained(d->store, 0);
    put_taking(d->store, "b", 2); /* the restart */
    rs_store *f2 = rs_test_follower_open(d->store, p2, NULL, &base2);
    put_taking(d->store, "c", 1); /* unchained */

    struct rs_test_batch b[2];
    assert_int_equal(rs_test_batches_read(d->store, base1 + 1, b, 2), 2);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_apply_replicated(f1, b[0].seq, b[0].rep, b[0].len, &err), RS_E_GAP);
    assert_non_null(strstr(err.msg, "restarts the chain"));
    assert_int_equal(rs_store_latest_seq(f1), base1);
    rs_err_clear(&err);
    assert_int_equal(b[1].seq, base2 + 1);
    assert_int_equal(rs_store_apply_replicated(f2, b[1].seq, b[1].rep, b[1].len, &err), RS_E_GAP);
    assert_non_null(strstr(err.msg, "carries no chain record"));
    assert_int_equal(rs_store_latest_seq(f2), base2);
    rs_test_expect_missing(f2, NULL, "c");
    rs_test_batches_free(b, 2);
    rs_store_close(f1);
    rs_store_close(f2);
    free(p1);
    free(p2);
}

/* A checkpoint taken after unchained writes carries the chain value at its
 * sequence: a follower bootstrapped from it checks the chained batches
 * that follow like any others. */
static void checkpoint_after_unchained_writes_starts_a_follower(void **state)
{
    struct rs_test_db *d = *state;
    rs_store_set_chained(d->store, 1);
    put_taking(d->store, "a", 2);
    rs_store_set_chained(d->store, 0);
    put_taking(d->store, "b", 2);
    put_taking(d->store, "c", 1);
    char *path = rs_test_path(d->dir, "f");
    uint64_t base;
    rs_store *f = rs_test_follower_open(d->store, path, NULL, &base);
    uint64_t s1, s2;
    uint8_t c1[RS_STORE_CHAIN_BYTES], c2[RS_STORE_CHAIN_BYTES];
    rs_store_chain(d->store, &s1, c1);
    rs_store_chain(f, &s2, c2);
    assert_int_equal(s1, s2);
    assert_memory_equal(c1, c2, sizeof c1);

    rs_store_set_chained(d->store, 1);
    for (int i = 0; i < 5; i++)
        put_taking(d->store, "d", 2);
    struct rs_test_batch b[8];
    size_t n = rs_test_batches_read(d->store, base + 1, b, 8);
    assert_int_equal(n, 5);
    rs_err err = RS_ERR_INIT;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs_store_apply_replicated(f, b[i].seq, b[i].rep, b[i].len, &err), RS_OK);
    rs_store_chain(d->store, &s1, c1);
    rs_store_chain(f, &s2, c2);
    assert_int_equal(s1, s2);
    assert_memory_equal(c1, c2, sizeof c1);
    rs_test_batches_free(b, n);
    rs_store_close(f);
    free(path);
}

/* Two copies of one database, each written unchained over the same
 * sequences: their chain values differ (each restarted with its own random
 * value), so when one follows the other again, the first chained batch
 * tells them apart instead of the copy taking it as its own. */
static void copies_written_unchained_never_share_a_chain(void **state)
{
    struct rs_test_db *d = *state;
    rs_store_set_chained(d->store, 1);
    put_taking(d->store, "a", 2);
    char *path = rs_test_path(d->dir, "copy");
    uint64_t base;
    rs_store *copy = rs_test_follower_open(d->store, path, NULL, &base);
    rs_store_set_replica(copy, 0); /* served on its own, for a while */
    rs_store_set_chained(d->store, 0);
    put_taking(d->store, "b", 2);
    put_taking(d->store, "c", 1);
    put_taking(copy, "b", 2);
    put_taking(copy, "other", 1);
    assert_int_equal(rs_store_latest_seq(copy), rs_store_latest_seq(d->store));

    rs_store_set_chained(d->store, 1);
    uint64_t next = rs_store_latest_seq(d->store) + 1;
    put_taking(d->store, "e", 2);
    struct rs_test_batch b[2];
    assert_int_equal(rs_test_batches_read(d->store, next, b, 2), 1);
    rs_store_set_replica(copy, 1);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_apply_replicated(copy, b[0].seq, b[0].rep, b[0].len, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "diverged"));
    rs_test_batches_free(b, 1);
    rs_store_close(copy);
    free(path);
}

/* ---- the switch under writes ------------------------------------------------ */

struct writer {
    rs_store   *s;
    int         id;
    atomic_int *stop;
    atomic_int  n;
};

static void *write_until_stopped(void *arg)
{
    struct writer *w = arg;
    char key[32];
    while (!atomic_load(w->stop)) {
        snprintf(key, sizeof key, "w%d-%d", w->id, atomic_load(&w->n));
        rs_test_put(w->s, key, "v");
        atomic_fetch_add(&w->n, 1);
    }
    return NULL;
}

static int each_wrote_200(void *arg)
{
    struct writer *w = arg;
    return atomic_load(&w[0].n) >= 200 && atomic_load(&w[1].n) >= 200;
}

/* Turned on while writers run: the unchained writes already inside RocksDB
 * finish first, so in the WAL no unchained batch follows a chained one,
 * and every batch after the sequence seen when the call returned is
 * chained. */
static void chaining_on_under_writes_leaves_no_unchained_batch_after(void **state)
{
    struct rs_test_db *d = *state;
    uint64_t base = rs_store_latest_seq(d->store);
    atomic_int stop = 0;
    struct writer w[2] = {{.s = d->store, .id = 0, .stop = &stop}, {.s = d->store, .id = 1, .stop = &stop}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, write_until_stopped, &w[i]), 0);
    assert_true(rs_test_poll(each_wrote_200, w, 30000));
    rs_store_set_chained(d->store, 1);
    uint64_t switched = rs_store_latest_seq(d->store);
    atomic_store(&w[0].n, 0);
    atomic_store(&w[1].n, 0);
    assert_true(rs_test_poll(each_wrote_200, w, 30000));
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);

    enum { MAX = 1 << 16 };
    struct rs_test_batch *b = calloc(MAX, sizeof *b);
    size_t n = rs_test_batches_read(d->store, base + 1, b, MAX), n_unchained = 0, n_chained = 0;
    for (size_t i = 0; i < n; i++) {
        rs_store_batch_info info;
        rs_err err = RS_ERR_INIT;
        assert_int_equal(rs_store_batch_inspect(NULL, b[i].rep, b[i].len, &info, &err), RS_OK);
        if (!info.has_chain) {
            assert_int_equal(n_chained, 0);
            assert_true(b[i].seq <= switched);
            n_unchained++;
        } else {
            n_chained++;
        }
    }
    print_message("      %zu unchained batches, then %zu chained\n", n_unchained, n_chained);
    assert_true(n_unchained > 0 && n_chained > 0);
    rs_test_batches_free(b, n);
    free(b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(new_database_writes_unchained_from_a_restart),
        T(chaining_on_chains_every_batch),
        T(chaining_off_restarts_the_chain_once),
        T(reopened_chained_database_restarts_at_its_first_write),
        T(follower_refuses_a_restart_and_an_unchained_batch),
        T(checkpoint_after_unchained_writes_starts_a_follower),
        T(copies_written_unchained_never_share_a_chain),
        T(chaining_on_under_writes_leaves_no_unchained_batch_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
