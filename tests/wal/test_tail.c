/*
 * The WAL tail: every committed batch once, in order, as a BATCH frame with
 * the chain after it; waiting for the next one from a thread of its own
 * (the archiver's shape); its pin moved by another thread and never back;
 * and what a consumer cannot continue from: a position inside a batch, a
 * batch written unchained, a WAL that no longer holds the next batch.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wal/wal.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

struct fx {
    char     *dir, *db;
    rs_store *store;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("tail");
    f->db = rs_test_path(f->dir, "db");
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE, .write_buffer_bytes = 1 << 20};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_open(f->db, &cfg, &f->store, &err), RS_OK);
    rs_store_set_chained(f->store, 1); /* as a primary: every batch chained */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rs_store_close(f->store);
    free(f->db);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void put(rs_store *s, int i)
{
    char k[32];
    int n = snprintf(k, sizeof k, "key-%d", i);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(s, B(k), (size_t)n, B("v"), 1, &err), RS_OK);
}

static void batches_come_once_in_order_with_their_chain(void **state)
{
    struct fx *f = *state;
    uint64_t from = rs_store_latest_seq(f->store) + 1;
    for (int i = 0; i < 100; i++)
        put(f->store, i);
    rs_wal_tail *t = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_tail_open(f->store, from, "test", &t, &err), RS_OK);
    uint64_t seq;
    uint8_t chain[RS_WAL_CHAIN_BYTES], zeros[RS_WAL_CHAIN_BYTES] = {0};
    rs_wal_tail_chain(t, &seq, chain);
    assert_int_equal(seq, from - 1);
    assert_memory_equal(chain, zeros, sizeof chain);
    uint64_t next = from;
    int n = 0;
    rs_wal_frame fr;
    rs_code rc;
    while ((rc = rs_wal_tail_next(t, &fr, &err)) == RS_OK) {
        assert_int_equal(fr.type, RS_WAL_FRAME_BATCH);
        assert_int_equal(fr.first_seq, next);
        assert_int_equal(fr.count, 2); /* a put and its chain record */
        next += fr.count;
        n++;
    }
    assert_int_equal(rc, RS_E_NOTFOUND);
    assert_int_equal(n, 100);
    assert_int_equal(rs_wal_tail_position(t), rs_store_latest_seq(f->store) + 1);
    /* the chain after the last batch is the store's */
    uint8_t want[RS_WAL_CHAIN_BYTES];
    uint64_t want_seq;
    rs_store_chain(f->store, &want_seq, want);
    rs_wal_tail_chain(t, &seq, chain);
    assert_int_equal(seq, want_seq);
    assert_memory_equal(chain, want, sizeof want);
    rs_wal_tail_close(t);
}

/* An archiver's shape: a thread of its own waits for batches and reads
 * them; the pin is moved by another thread once they are "uploaded". */
struct reader {
    rs_wal_tail *tail;
    uint64_t     until;  /* read up to this sequence */
    int          n;
};

static void *read_until(void *arg)
{
    struct reader *r = arg;
    rs_err err = RS_ERR_INIT;
    while (rs_wal_tail_position(r->tail) <= r->until) {
        rs_wal_frame fr;
        rs_code rc = rs_wal_tail_next(r->tail, &fr, &err);
        if (rc == RS_OK)
            r->n++;
        else if (rc == RS_E_NOTFOUND)
            rs_wal_tail_wait(r->tail, 1000);
        else
            break;
    }
    return NULL;
}

static void a_thread_of_its_own_waits_and_reads_while_the_pin_moves_elsewhere(void **state)
{
    struct fx *f = *state;
    uint64_t from = rs_store_latest_seq(f->store) + 1;
    rs_wal_tail *t = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_tail_open(f->store, from, "archiver", &t, &err), RS_OK);
    assert_int_equal(rs_wal_tail_pinned(t), from);
    struct reader r = {.tail = t, .until = from + 2 * 50 - 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_until, &r), 0);
    for (int i = 0; i < 50; i++) /* written while it waits: each wakes it */
        put(f->store, i);
    pthread_join(th, NULL);
    assert_int_equal(r.n, 50);
    /* reading did not move the pin: only the consumer says what it is done with */
    assert_int_equal(rs_wal_tail_pinned(t), from);
    rs_wal_tail_release(t, from + 20);
    assert_int_equal(rs_wal_tail_pinned(t), from + 20);
    rs_wal_tail_release(t, from + 10); /* never back */
    assert_int_equal(rs_wal_tail_pinned(t), from + 20);
    rs_wal_tail_close(t);
}

static void a_position_inside_a_batch_is_refused_as_other_batches(void **state)
{
    struct fx *f = *state;
    uint64_t from = rs_store_latest_seq(f->store) + 1;
    put(f->store, 1); /* from, from + 1: the put and its chain record */
    rs_wal_tail *t = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_tail_open(f->store, from + 1, "inside", &t, &err), RS_OK);
    rs_wal_frame fr;
    rs_code rc = rs_wal_tail_next(t, &fr, &err);
    rs_wal_tail_close(t);
    assert_int_equal(rc, RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "falls inside the batch"));
    assert_null(strstr(err.msg, "no longer kept"));
}

static void a_batch_written_unchained_cannot_be_continued(void **state)
{
    struct fx *f = *state;
    rs_store_set_chained(f->store, 0);
    uint64_t from = rs_store_latest_seq(f->store) + 1;
    put(f->store, 1);
    rs_wal_tail *t = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_tail_open(f->store, from, "unchained", &t, &err), RS_OK);
    rs_wal_frame fr;
    rs_code rc = rs_wal_tail_next(t, &fr, &err);
    rs_wal_tail_close(t);
    assert_int_equal(rc, RS_E_GAP);
    assert_non_null(strstr(err.msg, "written unchained"));
}

static void a_wal_no_longer_kept_is_a_gap(void **state)
{
    struct fx *f = *state;
    uint64_t from = rs_store_latest_seq(f->store) + 1;
    for (int i = 0; i < 100; i++)
        put(f->store, i);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    put(f->store, 100);
    rs_test_drop_archived_wal(f->db);
    rs_wal_tail *t = NULL;
    assert_int_equal(rs_wal_tail_open(f->store, from, "late", &t, &err), RS_OK);
    rs_wal_frame fr;
    rs_code rc = rs_wal_tail_next(t, &fr, &err);
    rs_wal_tail_close(t);
    assert_int_equal(rc, RS_E_GAP);
    assert_non_null(strstr(err.msg, "no longer"));
}

static void sequence_zero_is_refused(void **state)
{
    struct fx *f = *state;
    rs_wal_tail *t = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_tail_open(f->store, 0, "zero", &t, &err), RS_E_INVALID);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(batches_come_once_in_order_with_their_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(a_thread_of_its_own_waits_and_reads_while_the_pin_moves_elsewhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_position_inside_a_batch_is_refused_as_other_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_written_unchained_cannot_be_continued, setup, teardown),
        cmocka_unit_test_setup_teardown(a_wal_no_longer_kept_is_a_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(sequence_zero_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
