/*
 * store's replication support, on a chained store (a primary's): the
 * commit stamp and chain record on every batch, concurrent writers'
 * batches merged into write groups (each whole, one fsync each under
 * ALWAYS), reading batches back from the WAL (with gap detection and
 * prompt wake-ups), applying a primary's raw batches on a follower
 * (position and chain checked first), and the meta records wal/ keeps.
 * test_chain.c covers chaining off and the switches.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/endian.h"
#include <rocksdb/c.h>

#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

struct fixture {
    char     *dir;
    char     *db;
    rs_store *store;
};


static rs_store *open_at(const char *path, int create)
{
    rs_store_config cfg = {.create_if_missing = create, .sync = RS_STORE_SYNC_NONE,
                           .write_buffer_bytes = 1 << 20};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        fail_msg("open %s: %s", path, err.msg);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("storewal");
    f->db = rs_test_path(f->dir, "db");
    f->store = open_at(f->db, 1);
    rs_store_set_chained(f->store, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rs_store_close(f->store);
    free(f->db);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void put(rs_store *s, const char *k, const char *v)
{
    rs_err err = RS_ERR_INIT;
    if (rs_store_put(s, B(k), strlen(k), B(v), strlen(v), &err) != RS_OK)
        fail_msg("put %s: %s", k, err.msg);
}

static void every_batch_carries_stamp_and_chain(void **state)
{
    struct fixture *f = *state;
    uint64_t start = rs_store_latest_seq(f->store);
    uint64_t t0 = rs_clock_wall_ns();
    put(f->store, "k1", "v1");
    uint64_t t1 = rs_clock_wall_ns();
    struct rs_test_batch b[4] = {{0}};
    assert_int_equal(rs_test_batches_read(f->store, start + 1, b, 4), 1);
    rs_store_batch_info info;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_inspect(NULL, b[0].rep, b[0].len, &info, &err), RS_OK);
    assert_int_equal(info.first_seq, start + 1);
    assert_int_equal(info.count, 2); /* the put and the chain record */
    assert_true(info.commit_time_ns >= t0 && info.commit_time_ns <= t1);
    assert_true(info.has_chain);
    uint64_t chain_seq;
    uint8_t chain[RS_STORE_CHAIN_BYTES];
    rs_store_chain(f->store, &chain_seq, chain);
    assert_int_equal(chain_seq, start + 2);
    assert_memory_equal(chain, info.chain, RS_STORE_CHAIN_BYTES);
    rs_test_batches_free(b, 1);
}

static void chain_survives_reopen(void **state)
{
    struct fixture *f = *state;
    put(f->store, "a", "1");
    put(f->store, "b", "2");
    uint64_t seq1, seq2;
    uint8_t c1[RS_STORE_CHAIN_BYTES], c2[RS_STORE_CHAIN_BYTES];
    rs_store_chain(f->store, &seq1, c1);
    rs_store_close(f->store);
    f->store = open_at(f->db, 0);
    rs_store_chain(f->store, &seq2, c2);
    assert_int_equal(seq1, seq2);
    assert_memory_equal(c1, c2, sizeof c1);
    assert_false(rs_store_is_chained(f->store)); /* until asked again */
}

static void empty_batch_writes_nothing(void **state)
{
    struct fixture *f = *state;
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    uint64_t before = rs_store_latest_seq(f->store);
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    assert_int_equal(rs_store_write(f->store, b, &err), RS_OK);
    assert_int_equal(rs_store_latest_seq(f->store), before);
    rs_store_batch_destroy(b);
}

static void reader_returns_batches_in_order_then_runs_dry(void **state)
{
    struct fixture *f = *state;
    uint64_t start = rs_store_latest_seq(f->store);
    for (int i = 0; i < 50; i++)
        put(f->store, "key", "value");
    struct rs_test_batch b[64];
    size_t n = rs_test_batches_read(f->store, start + 1, b, 64);
    assert_int_equal(n, 50);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(b[i].seq, start + 1 + 2 * i);
    rs_test_batches_free(b, n);

    rs_store_wal_iter *it = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_wal_iter_open(f->store, rs_store_latest_seq(f->store) + 1, &it, &err), RS_OK);
    const uint8_t *rep;
    size_t len;
    uint64_t seq;
    assert_int_equal(rs_store_wal_iter_next(it, &seq, &rep, &len, &err), RS_E_NOTFOUND);
    assert_int_equal(err.code, RS_OK);
    put(f->store, "late", "x");
    assert_int_equal(rs_store_wal_iter_next(it, &seq, &rep, &len, &err), RS_OK);
    assert_int_equal(seq, rs_store_latest_seq(f->store) - 1);
    rs_store_wal_iter_close(it);
}

static void reader_follows_writes_across_wal_files(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    uint64_t start = rs_store_latest_seq(f->store);
    rs_store_wal_iter *it = NULL;
    assert_int_equal(rs_store_wal_iter_open(f->store, start + 1, &it, &err), RS_OK);
    size_t got = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 10; i++)
            put(f->store, "k", "v");
        /* a flush starts a new WAL file: the reader must follow it */
        assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
        const uint8_t *rep;
        size_t len;
        uint64_t seq;
        while (rs_store_wal_iter_next(it, &seq, &rep, &len, &err) == RS_OK)
            got++;
        assert_int_equal(err.code, RS_OK);
    }
    assert_int_equal(got, 30);
    assert_int_equal(rs_store_wal_iter_position(it), rs_store_latest_seq(f->store) + 1);
    rs_store_wal_iter_close(it);
}

static void reader_reports_gap_when_wal_is_gone(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    uint64_t start = rs_store_latest_seq(f->store);
    for (int i = 0; i < 10; i++)
        put(f->store, "k", "v");
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    put(f->store, "after", "flush");
    /* the archived WAL holding the first batches goes away */
    rs_test_drop_archived_wal(f->db);
    rs_store_wal_iter *it = NULL;
    assert_int_equal(rs_store_wal_iter_open(f->store, start + 1, &it, &err), RS_OK);
    const uint8_t *rep;
    size_t len;
    uint64_t seq;
    assert_int_equal(rs_store_wal_iter_next(it, &seq, &rep, &len, &err), RS_E_GAP);
    assert_non_null(strstr(err.msg, "no longer"));
    rs_store_wal_iter_close(it);
}

struct wait_arg {
    rs_store *s;
    uint64_t  seq;
};

static void *late_writer(void *arg)
{
    struct wait_arg *a = arg;
    rs_clock_sleep_us(20000);
    put(a->s, "wake", "up");
    return NULL;
}

static void wait_for_write_wakes_on_commit(void **state)
{
    struct fixture *f = *state;
    uint64_t seq = rs_store_latest_seq(f->store);
    assert_int_equal(rs_store_wait_for_write(f->store, seq, 10), seq); /* times out */
    struct wait_arg a = {f->store, seq};
    pthread_t t;
    pthread_create(&t, NULL, late_writer, &a);
    uint64_t t0 = rs_clock_mono_ns();
    uint64_t got = rs_store_wait_for_write(f->store, seq, 10000);
    uint64_t waited_ms = (rs_clock_mono_ns() - t0) / 1000000u;
    pthread_join(t, NULL);
    assert_true(got > seq);
    assert_true(waited_ms < 5000); /* woken, not timed out */
}

/* ---- a follower applying the primary's batches ---------------------- */

struct pair {
    rs_store *follower;
    char     *fdb;
    uint64_t  base;
};

static void make_follower(struct fixture *f, struct pair *p)
{
    p->fdb = rs_test_path(f->dir, "follower");
    p->follower = rs_test_follower_open(f->store, p->fdb, NULL, &p->base);
}

static void drop_follower(struct pair *p)
{
    rs_store_close(p->follower);
    free(p->fdb);
}

static void follower_applies_batches_to_same_seq_and_chain(void **state)
{
    struct fixture *f = *state;
    put(f->store, "before", "checkpoint");
    struct pair p;
    make_follower(f, &p);
    for (int i = 0; i < 20; i++)
        put(f->store, "k", i % 2 ? "odd" : "even");
    struct rs_test_batch b[32];
    size_t n = rs_test_batches_read(f->store, p.base + 1, b, 32);
    assert_int_equal(n, 20);
    rs_err err = RS_ERR_INIT;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs_store_apply_replicated(p.follower, b[i].seq, b[i].rep, b[i].len, &err), RS_OK);
    assert_int_equal(rs_store_latest_seq(p.follower), rs_store_latest_seq(f->store));
    uint64_t s1, s2;
    uint8_t c1[RS_STORE_CHAIN_BYTES], c2[RS_STORE_CHAIN_BYTES];
    rs_store_chain(f->store, &s1, c1);
    rs_store_chain(p.follower, &s2, c2);
    assert_int_equal(s1, s2);
    assert_memory_equal(c1, c2, sizeof c1);
    /* the follower's own WAL holds the very same bytes: no second stamp */
    struct rs_test_batch fb[32];
    assert_int_equal(rs_test_batches_read(p.follower, p.base + 1, fb, 32), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fb[i].len, b[i].len);
        assert_memory_equal(fb[i].rep, b[i].rep, b[i].len);
    }
    rs_test_batches_free(fb, n);
    rs_test_batches_free(b, n);
    drop_follower(&p);
}

/* ---- write groups -------------------------------------------------- */

#define GROUP_WRITERS 8
#define GROUP_BATCHES 40

struct pair_writer {
    rs_store *s;
    int       id;
};

/* Each batch puts "w<id>-<j>-a" then "w<id>-<j>-b": two keys that must
 * land in one write. */
static void *write_pairs(void *arg)
{
    struct pair_writer *w = arg;
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_batch_create(&b, &err) != RS_OK)
        return NULL;
    char k[32];
    for (int j = 0; j < GROUP_BATCHES; j++) {
        rs_store_batch_clear(b);
        int kl = snprintf(k, sizeof k, "w%d-%03d-a", w->id, j);
        rs_store_batch_put(b, B(k), (size_t)kl, B("1"), 1);
        k[kl - 1] = 'b';
        rs_store_batch_put(b, B(k), (size_t)kl, B("2"), 1);
        if (rs_store_write(w->s, b, &err) != RS_OK)
            break;
    }
    rs_store_batch_destroy(b);
    return NULL;
}

/* The pairs of one WAL batch, in order: each "-a" followed by its "-b".
 * (Iteration stops at the chain record, a put to rs_meta.) */
struct pair_scan {
    char   a[32];
    int    open;
    int    bad;
    size_t pairs;
};

static void scan_pair_put(void *arg, const char *k, size_t klen, const char *v, size_t vlen)
{
    (void)v;
    (void)vlen;
    struct pair_scan *ps = arg;
    if (klen < 3 || klen >= sizeof ps->a) {
        ps->bad++;
    } else if (k[klen - 1] == 'a') {
        ps->bad += ps->open;
        memcpy(ps->a, k, klen - 1);
        ps->a[klen - 1] = '\0';
        ps->open = 1;
    } else {
        ps->bad += !ps->open || strlen(ps->a) != klen - 1 || memcmp(ps->a, k, klen - 1) != 0;
        ps->open = 0;
        ps->pairs++;
    }
}

static void scan_pair_delete(void *arg, const char *k, size_t klen)
{
    (void)k;
    (void)klen;
    ((struct pair_scan *)arg)->bad++;
}

/* Runs GROUP_WRITERS writers of GROUP_BATCHES pair batches each on s,
 * then reads the WAL from seq from on into b: every pair whole inside one
 * WAL batch, and all of them there. Returns how many WAL batches. */
static size_t write_pairs_and_check(rs_store *s, uint64_t from, struct rs_test_batch *b, size_t max)
{
    pthread_t t[GROUP_WRITERS];
    struct pair_writer w[GROUP_WRITERS];
    for (int i = 0; i < GROUP_WRITERS; i++) {
        w[i] = (struct pair_writer){s, i};
        assert_int_equal(pthread_create(&t[i], NULL, write_pairs, &w[i]), 0);
    }
    for (int i = 0; i < GROUP_WRITERS; i++)
        pthread_join(t[i], NULL);
    size_t n = rs_test_batches_read(s, from, b, max), pairs = 0, biggest = 0;
    for (size_t i = 0; i < n; i++) {
        struct pair_scan ps = {.open = 0};
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create_from((const char *)b[i].rep, b[i].len);
        rocksdb_writebatch_iterate(wb, &ps, scan_pair_put, scan_pair_delete);
        rocksdb_writebatch_destroy(wb);
        assert_int_equal(ps.bad, 0);
        assert_int_equal(ps.open, 0);
        pairs += ps.pairs;
        biggest = ps.pairs > biggest ? ps.pairs : biggest;
    }
    print_message("      %d batches from %d writers: %zu WAL batches, up to %zu in one\n",
                  GROUP_WRITERS * GROUP_BATCHES, GROUP_WRITERS, n, biggest);
    assert_int_equal(pairs, GROUP_WRITERS * GROUP_BATCHES);
    return n;
}

/* Concurrent writers under ALWAYS, chained: their batches are merged into
 * write groups, each caller's batch whole inside one WAL batch, one fsync
 * per group; a follower applying the groups ends with the same sequence
 * and chain (the chain covers merged batches like any other). */
static void concurrent_writers_share_write_groups(void **state)
{
    struct fixture *f = *state;
    char *gdb = rs_test_path(f->dir, "groups");
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_ALWAYS};
    rs_store *s = rs_test_store_open(gdb, &cfg);
    rs_store_set_chained(s, 1);
    struct pair p = {.fdb = rs_test_path(f->dir, "group-follower")};
    p.follower = rs_test_follower_open(s, p.fdb, NULL, &p.base);
    rs_store_stats st;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_stats_get(s, &st, &err), RS_OK);
    uint64_t syncs = st.wal_syncs;

    static struct rs_test_batch b[GROUP_WRITERS * GROUP_BATCHES + 1];
    size_t n = write_pairs_and_check(s, p.base + 1, b, GROUP_WRITERS * GROUP_BATCHES + 1);
    assert_int_equal(rs_store_stats_get(s, &st, &err), RS_OK);
    assert_true(n < GROUP_WRITERS * GROUP_BATCHES);
    assert_int_equal(st.wal_syncs - syncs, n);

    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs_store_apply_replicated(p.follower, b[i].seq, b[i].rep, b[i].len, &err), RS_OK);
    uint64_t s1, s2;
    uint8_t c1[RS_STORE_CHAIN_BYTES], c2[RS_STORE_CHAIN_BYTES];
    rs_store_chain(s, &s1, c1);
    rs_store_chain(p.follower, &s2, c2);
    assert_int_equal(s1, s2);
    assert_memory_equal(c1, c2, sizeof c1);
    rs_test_batches_free(b, n);
    drop_follower(&p);
    rs_store_close(s);
    free(gdb);
}

/* Unchained, concurrent writers go to RocksDB side by side: each batch
 * still lands whole (RocksDB's own write groups may hold several in one
 * WAL record), stamped, with no chain record, and takes exactly its own
 * two sequence numbers. */
static void concurrent_unchained_writers_keep_batches_whole(void **state)
{
    struct fixture *f = *state;
    rs_store_set_chained(f->store, 0);
    put(f->store, "restart", "x"); /* the first unchained write restarts the chain */
    uint64_t base = rs_store_latest_seq(f->store);
    static struct rs_test_batch b[GROUP_WRITERS * GROUP_BATCHES + 1];
    size_t n = write_pairs_and_check(f->store, base + 1, b, GROUP_WRITERS * GROUP_BATCHES + 1);
    assert_int_equal(rs_store_latest_seq(f->store) - base, 2 * GROUP_WRITERS * GROUP_BATCHES);
    for (size_t i = 0; i < n; i++) {
        rs_store_batch_info info;
        rs_err err = RS_ERR_INIT;
        assert_int_equal(rs_store_batch_inspect(NULL, b[i].rep, b[i].len, &info, &err), RS_OK);
        assert_false(info.has_chain);
        assert_true(info.commit_time_ns > 0);
    }
    rs_test_batches_free(b, n);
}

static void follower_refuses_gap_and_writes_nothing(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    make_follower(f, &p);
    put(f->store, "a", "1");
    put(f->store, "b", "2");
    struct rs_test_batch b[2] = {{0}};
    assert_int_equal(rs_test_batches_read(f->store, p.base + 1, b, 2), 2);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_apply_replicated(p.follower, b[1].seq, b[1].rep, b[1].len, &err), RS_E_GAP);
    assert_non_null(strstr(err.msg, "does not follow"));
    assert_int_equal(rs_store_latest_seq(p.follower), p.base);
    /* and an overlap: the same batch twice */
    rs_err_clear(&err);
    assert_int_equal(rs_store_apply_replicated(p.follower, b[0].seq, b[0].rep, b[0].len, &err), RS_OK);
    assert_int_equal(rs_store_apply_replicated(p.follower, b[0].seq, b[0].rep, b[0].len, &err), RS_E_GAP);
    rs_test_batches_free(b, 2);
    drop_follower(&p);
}

static void follower_detects_divergence_before_applying(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    make_follower(f, &p);
    put(f->store, "key", "AAAA");
    struct rs_test_batch b[1] = {{0}};
    assert_int_equal(rs_test_batches_read(f->store, p.base + 1, b, 1), 1);
    uint8_t *hit = memmem(b[0].rep, b[0].len, "AAAA", 4);
    assert_non_null(hit);
    hit[0] = 'B'; /* same shape, other content, chain record untouched */
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_apply_replicated(p.follower, b[0].seq, b[0].rep, b[0].len, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "diverged"));
    assert_int_equal(rs_store_latest_seq(p.follower), p.base);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(p.follower, NULL, B("key"), 3, &v, &err), RS_E_NOTFOUND);
    rs_test_batches_free(b, 1);
    drop_follower(&p);
}

static void replica_refuses_writes_of_its_own(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    uint64_t before = rs_store_latest_seq(f->store);
    rs_store_set_replica(f->store, 1);
    assert_true(rs_store_is_replica(f->store));
    assert_int_equal(rs_store_put(f->store, B("k"), 1, B("v"), 1, &err), RS_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "follower"));
    assert_int_equal(rs_store_latest_seq(f->store), before);
    rs_store_set_replica(f->store, 0);
    put(f->store, "k", "v");
}

/* ---- raw batch bytes ------------------------------------------------ */

static void inspect_reads_handmade_batch(void **state)
{
    (void)state;
    uint8_t rep[128];
    size_t chain_at = 0;
    size_t n = rs_test_sample_batch(rep, 7, 123456789, 0xab, &chain_at);
    rs_store_batch_info info;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_inspect(NULL, rep, n, &info, &err), RS_OK);
    assert_int_equal(info.first_seq, 7);
    assert_int_equal(info.count, 2);
    assert_int_equal(info.commit_time_ns, 123456789);
    assert_true(info.has_chain);
    assert_int_equal(info.chain_offset, chain_at);
    assert_int_equal(info.chain[31], 0xab);

    /* every truncation is refused, never read past */
    for (size_t cut = 0; cut < n; cut++) {
        rs_err e = RS_ERR_INIT;
        assert_int_equal(rs_store_batch_inspect(NULL, rep, cut, &info, &e), RS_E_CORRUPT);
    }
    rs_le32_put(rep + 8, 3);
    assert_int_equal(rs_store_batch_inspect(NULL, rep, n, &info, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "header counts 3 records, found 2"));
}

static void meta_records_round_trip_and_reserve_store_names(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_store_value v = {0};
    assert_int_equal(rs_store_meta_get(f->store, "wal.history", &v, &err), RS_E_NOTFOUND);
    assert_int_equal(rs_store_meta_put(f->store, "wal.history", B("h1"), 2, &err), RS_OK);
    assert_int_equal(rs_store_meta_get(f->store, "wal.history", &v, &err), RS_OK);
    assert_int_equal(v.len, 2);
    assert_memory_equal(v.data, "h1", 2);
    rs_store_value_release(&v);
    const char *own[] = {"chain", "db_id", "versions", "prune_policy", "version/12345678"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        rs_err e = RS_ERR_INIT;
        assert_int_equal(rs_store_meta_put(f->store, own[i], B("x"), 1, &e), RS_E_INVALID);
        assert_non_null(strstr(e.msg, "store's own"));
        assert_int_equal(rs_store_meta_get(f->store, own[i], &v, &e), RS_E_INVALID);
    }
    /* user keys and meta records do not mix */
    assert_int_equal(rs_store_get(f->store, NULL, B("wal.history"), 11, &v, &err), RS_E_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_batch_carries_stamp_and_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_batch_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_returns_batches_in_order_then_runs_dry, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_follows_writes_across_wal_files, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_reports_gap_when_wal_is_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(wait_for_write_wakes_on_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_applies_batches_to_same_seq_and_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_share_write_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_unchained_writers_keep_batches_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_refuses_gap_and_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_detects_divergence_before_applying, setup, teardown),
        cmocka_unit_test_setup_teardown(replica_refuses_writes_of_its_own, setup, teardown),
        cmocka_unit_test(inspect_reads_handmade_batch),
        cmocka_unit_test_setup_teardown(meta_records_round_trip_and_reserve_store_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
