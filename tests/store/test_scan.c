/*
 * store: range scans (prefix, [start, end), limit, reverse), iterator
 * status, and consistent read views. Every test runs on disk and on the
 * in-memory backend, which must behave the same.
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
    /* NONE: these tests are about reads; fsyncs would only slow them */
    rs_store_config cfg = {.sync = RS_STORE_SYNC_NONE};
    *state = rs_test_db_open("scan", *state != NULL, &cfg);
    return 0;
}

static int teardown(void **state)
{
    rs_test_db_close(*state);
    return 0;
}

/* ---- collecting a scan into a string ---------------------------------- */

/* A scan's keys joined by spaces, binary bytes as \xHH, e.g. "b1 b2". */
struct seen {
    char   text[1024];
    size_t n;
    size_t stop_after; /* 0: never stop early */
};

static void append_key(struct seen *s, const uint8_t *k, size_t klen)
{
    size_t used = strlen(s->text);
    if (used > 0)
        used += (size_t)snprintf(s->text + used, sizeof s->text - used, " ");
    for (size_t i = 0; i < klen; i++) {
        if (k[i] >= 0x20 && k[i] < 0x7f)
            used += (size_t)snprintf(s->text + used, sizeof s->text - used, "%c", k[i]);
        else
            used += (size_t)snprintf(s->text + used, sizeof s->text - used, "\\x%02x", k[i]);
    }
}

static int collect(void *arg, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    struct seen *s = arg;
    (void)v;
    (void)vlen;
    append_key(s, k, klen);
    s->n++;
    return s->stop_after != 0 && s->n >= s->stop_after;
}

static const char *scan_keys(rs_store *s, const rs_store_view *view, const rs_store_range *r, struct seen *out)
{
    rs_err err = RS_ERR_INIT;
    memset(out, 0, sizeof *out);
    if (rs_store_scan(s, view, r, collect, out, &err) != RS_OK)
        fail_msg("scan: %s", err.msg);
    return out->text;
}

static void put_keys(rs_store *s, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rs_test_put(s, keys[i], "v");
}

static void put_bytes(rs_store *s, const uint8_t *key, size_t len)
{
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(s, key, len, B("v"), 1, &err), RS_OK);
}

/* ---- prefixes ------------------------------------------------------- */

static void prefix_scan_visits_only_matching_keys(void **state)
{
    struct rs_test_db *f = *state;
    const char *keys[] = {"a1", "b", "b1", "b2", "b3", "ba", "c1"};
    put_keys(f->store, keys, 7);
    struct seen s;
    rs_store_range r = {.prefix = B("b"), .prefix_len = 1};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "b b1 b2 b3 ba");
    r.reverse = 1;
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "ba b3 b2 b1 b");
    r.prefix = B("zz");
    r.prefix_len = 2;
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "");
}

/* A prefix of only 0xff bytes has no successor key to bound the scan
 * from above: it must still visit exactly the keys that start with it. */
static void prefix_of_ff_bytes_has_no_upper_bound(void **state)
{
    struct rs_test_db *f = *state;
    const uint8_t k1[] = {0xfe}, k2[] = {0xff}, k3[] = {0xff, 0xfe}, k4[] = {0xff, 0xff}, k5[] = {0xff, 0xff, 0};
    put_bytes(f->store, k1, 1);
    put_bytes(f->store, k2, 1);
    put_bytes(f->store, k3, 2);
    put_bytes(f->store, k4, 2);
    put_bytes(f->store, k5, 3);
    struct seen s;
    const uint8_t ff2[] = {0xff, 0xff};
    rs_store_range r = {.prefix = ff2, .prefix_len = 2};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "\\xff\\xff \\xff\\xff\\x00");
    r.reverse = 1;
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "\\xff\\xff\\x00 \\xff\\xff");
    r = (rs_store_range){.prefix = ff2, .prefix_len = 1};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "\\xff \\xff\\xfe \\xff\\xff \\xff\\xff\\x00");
}

/* ---- ranges and limits ---------------------------------------------- */

static void put_k00_to_k19(rs_store *s)
{
    char key[8];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        rs_test_put(s, key, "v");
    }
}

static void range_is_half_open(void **state)
{
    struct rs_test_db *f = *state;
    put_k00_to_k19(f->store);
    struct seen s;
    rs_store_range r = {.start = B("k05"), .start_len = 3, .end = B("k10"), .end_len = 3};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "k05 k06 k07 k08 k09");
    r.reverse = 1;
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "k09 k08 k07 k06 k05");
    /* a start between keys begins at the next one; no end runs to the last */
    r = (rs_store_range){.start = B("k175"), .start_len = 4};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "k18 k19");
    /* an empty range */
    r = (rs_store_range){.start = B("k07"), .start_len = 3, .end = B("k07"), .end_len = 3};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "");
}

static void limit_counts_pairs_in_either_direction(void **state)
{
    struct rs_test_db *f = *state;
    put_k00_to_k19(f->store);
    struct seen s;
    rs_store_range r = {.start = B("k05"), .start_len = 3, .end = B("k10"), .end_len = 3, .limit = 3};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "k05 k06 k07");
    r.reverse = 1;
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "k09 k08 k07");
    r = (rs_store_range){.limit = 2, .reverse = 1};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "k19 k18");
    r.limit = 100; /* more than there are */
    scan_keys(f->store, NULL, &r, &s);
    assert_int_equal(s.n, 20);
}

static void prefix_and_range_intersect(void **state)
{
    struct rs_test_db *f = *state;
    put_k00_to_k19(f->store);
    struct seen s;
    rs_store_range r = {.prefix = B("k1"), .prefix_len = 2, .start = B("k12"), .start_len = 3,
                        .end = B("k15"), .end_len = 3};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "k12 k13 k14");
    r.reverse = 1;
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "k14 k13 k12");
    /* a start past the prefix's keys: nothing, in both directions */
    r = (rs_store_range){.prefix = B("k0"), .prefix_len = 2, .start = B("k15"), .start_len = 3};
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "");
    r.reverse = 1;
    assert_string_equal(scan_keys(f->store, NULL, &r, &s), "");
}

static void scan_callback_stops_early(void **state)
{
    struct rs_test_db *f = *state;
    put_k00_to_k19(f->store);
    struct seen s = {.stop_after = 4};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_scan(f->store, NULL, NULL, collect, &s, &err), RS_OK);
    assert_string_equal(s.text, "k00 k01 k02 k03");
}

/* ---- iterators ------------------------------------------------------ */

static void iterator_returns_pairs_then_stays_at_end(void **state)
{
    struct rs_test_db *f = *state;
    rs_test_put(f->store, "x1", "one");
    rs_test_put(f->store, "x2", "two");
    rs_store_iter *it = NULL;
    rs_err err = RS_ERR_INIT;
    rs_store_range r = {.prefix = B("x"), .prefix_len = 1};
    assert_int_equal(rs_store_iter_open(f->store, NULL, &r, &it, &err), RS_OK);
    const uint8_t *k, *v;
    size_t klen, vlen;
    assert_int_equal(rs_store_iter_next(it, &k, &klen, &v, &vlen), 1);
    assert_int_equal(klen, 2);
    assert_memory_equal(k, "x1", 2);
    assert_int_equal(vlen, 3);
    assert_memory_equal(v, "one", 3);
    assert_int_equal(rs_store_iter_next(it, &k, &klen, &v, &vlen), 1);
    assert_memory_equal(v, "two", 3);
    assert_int_equal(rs_store_iter_next(it, &k, &klen, &v, &vlen), 0);
    assert_int_equal(rs_store_iter_next(it, &k, &klen, &v, &vlen), 0);
    assert_int_equal(rs_store_iter_status(it, &err), RS_OK);
    assert_int_equal(err.code, RS_OK);
    rs_store_iter_close(it);
}

/* Overwrites bytes in the middle of the first data block of every SST
 * file under dir that holds the user's numbered keys, keeping its size.
 * Only those: the rs_meta family's file holds the database id, which the
 * open reads, and the test is about a scan meeting damage, not the open.
 * (Flushed files land in L0, which is never compressed, so the keys are
 * there in plain bytes.) Fails the test unless some file was damaged. */
static void corrupt_ssts(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "n=0; for f in '%s'/*.sst; do grep -q -a -F key-1 \"$f\" || continue; "
             "printf 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' | "
             "dd of=\"$f\" bs=1 seek=64 conv=notrunc status=none || exit 1; n=$((n+1)); done; "
             "test $n -gt 0",
             dir);
    assert_int_equal(system(cmd), 0);
}

/* A scan that meets a damaged block stops and says so: the iterator's
 * status is RS_E_CORRUPT with the database named, not a short result. */
static void iterator_status_reports_corruption(void **state)
{
    struct rs_test_db *f = *state;
    if (f->in_memory)
        skip(); /* the files to damage are on disk */
    rs_err err = RS_ERR_INIT;
    rs_test_put_numbered(f->store, 0, 2000);
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    rs_store_close(f->store);
    f->store = NULL;
    corrupt_ssts(f->db);
    rs_test_db_reopen(f);

    rs_store_iter *it = NULL;
    assert_int_equal(rs_store_iter_open(f->store, NULL, NULL, &it, &err), RS_OK);
    const uint8_t *k, *v;
    size_t klen, vlen;
    size_t n = 0;
    while (rs_store_iter_next(it, &k, &klen, &v, &vlen))
        n++;
    assert_true(n < 2000);
    assert_int_equal(rs_store_iter_status(it, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "is corrupt"));
    assert_non_null(strstr(err.msg, f->db));
    assert_non_null(err.hint);
    rs_store_iter_close(it);

    struct seen s;
    rs_err err2 = RS_ERR_INIT;
    assert_int_equal(rs_store_scan(f->store, NULL, NULL, collect, &s, &err2), RS_E_CORRUPT);
}

/* ---- views ---------------------------------------------------------- */

static void view_does_not_see_later_writes(void **state)
{
    struct rs_test_db *f = *state;
    rs_test_put(f->store, "a", "1");
    rs_test_put(f->store, "b", "1");
    uint64_t seq = rs_store_latest_seq(f->store);
    rs_store_view *view = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_view_open(f->store, &view, &err), RS_OK);
    assert_int_equal(rs_store_view_seq(view), seq);

    rs_test_put(f->store, "a", "2");
    rs_test_put(f->store, "c", "1");
    assert_int_equal(rs_store_delete(f->store, B("b"), 1, &err), RS_OK);
    assert_int_equal(rs_store_view_seq(view), seq);

    rs_test_expect_value(f->store, view, "a", "1");
    rs_test_expect_value(f->store, view, "b", "1");
    rs_test_expect_missing(f->store, view, "c");
    rs_test_expect_value(f->store, NULL, "a", "2");
    rs_test_expect_missing(f->store, NULL, "b");

    struct seen s;
    assert_string_equal(scan_keys(f->store, view, NULL, &s), "a b");
    assert_string_equal(scan_keys(f->store, NULL, NULL, &s), "a c");
    rs_store_view_close(view);
}

static void multi_get_through_view_reads_its_state(void **state)
{
    struct rs_test_db *f = *state;
    rs_test_put(f->store, "m1", "old");
    rs_test_put(f->store, "m2", "old");
    rs_store_view *view = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_view_open(f->store, &view, &err), RS_OK);
    rs_test_put(f->store, "m1", "new");
    rs_test_put(f->store, "m3", "new");
    assert_int_equal(rs_store_delete(f->store, B("m2"), 2, &err), RS_OK);

    const char *keys[] = {"m1", "m2", "m3"}, *then[] = {"old", "old", NULL}, *now[] = {"new", NULL, "new"};
    rs_test_expect_multi(f->store, view, 3, keys, then);
    rs_test_expect_multi(f->store, NULL, 3, keys, now);
    rs_store_view_close(view);
}

struct writer {
    rs_store        *store;
    _Atomic int      stop;
    _Atomic unsigned long written;
};

static void *write_numbered(void *arg)
{
    struct writer *w = arg;
    for (unsigned long i = atomic_load(&w->written); !atomic_load(&w->stop); i++) {
        rs_test_put_numbered(w->store, i, i + 1);
        atomic_store(&w->written, i + 1);
    }
    return NULL;
}

static int written_at_least_100(void *arg) { return atomic_load(&((struct writer *)arg)->written) >= 100; }

/* Whether a view at sequence base + n writes sees key-(n-1) and not key-n;
 * 0 if so, else -1 with why in msg. */
static int view_sees_exactly(rs_store *s, const rs_store_view *view, unsigned long n, char *msg, size_t cap)
{
    char key[32];
    rs_store_value val = {0};
    rs_err err = RS_ERR_INIT;
    snprintf(key, sizeof key, "key-%lu", n);
    if (rs_store_get(s, view, B(key), strlen(key), &val, &err) != RS_E_NOTFOUND) {
        rs_store_value_release(&val);
        snprintf(msg, cap, "view at write %lu sees %s", n, key);
        return -1;
    }
    snprintf(key, sizeof key, "key-%lu", n - 1);
    if (rs_store_get(s, view, B(key), strlen(key), &val, &err) != RS_OK) {
        snprintf(msg, cap, "view at write %lu misses %s", n, key);
        return -1;
    }
    rs_store_value_release(&val);
    return 0;
}

/* With one writer putting key-0, key-1, ... one write each, key-i's write
 * ends at sequence base + (i + 1) * per_put (rs_test_seqs_per_put: 2
 * while chained). A view at seq S sits where a write ends, and with n =
 * (S - base) / per_put must see key-(n-1) and not key-n: its seq is the
 * state it reads, even while writes pour in. Failures are collected, so
 * that the writer is stopped before the test fails. */
static void check_view_seqs_under_writes(struct rs_test_db *f)
{
    uint64_t base = rs_store_latest_seq(f->store), per_put = rs_test_seqs_per_put(f->store);
    rs_test_put_numbered(f->store, 0, 1);
    assert_int_equal(rs_store_latest_seq(f->store) - base, per_put);
    struct writer w = {.store = f->store, .written = 1}; /* goes on from key-1 */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_numbered, &w), 0);
    char failure[sizeof ((rs_err *)0)->msg + 32] = "";
    if (!rs_test_poll(written_at_least_100, &w, 10000))
        snprintf(failure, sizeof failure, "the writer wrote fewer than 100 keys in 10 s");
    for (int round = 0; round < 50 && failure[0] == '\0'; round++) {
        rs_store_view *view = NULL;
        rs_err err = RS_ERR_INIT;
        if (rs_store_view_open(f->store, &view, &err) != RS_OK) {
            snprintf(failure, sizeof failure, "open a view: %s", err.msg);
            break;
        }
        uint64_t d = rs_store_view_seq(view) - base;
        if (d % per_put != 0)
            snprintf(failure, sizeof failure, "view at seq base + %llu: inside a write", (unsigned long long)d);
        else
            view_sees_exactly(f->store, view, (unsigned long)(d / per_put), failure, sizeof failure);
        rs_store_view_close(view);
    }
    atomic_store(&w.stop, 1);
    pthread_join(t, NULL);
    assert_string_equal(failure, "");
}

static void view_seq_matches_what_it_sees_under_writes(void **state) { check_view_seqs_under_writes(*state); }

/* Chained, a write is a put and the chain record: a view never sits
 * between them. */
static void view_seq_matches_what_it_sees_under_chained_writes(void **state)
{
    struct rs_test_db *f = *state;
    rs_store_set_chained(f->store, 1);
    check_view_seqs_under_writes(f);
}

#define BOTH(fn)                                                                \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, NULL),        \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)1)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(prefix_scan_visits_only_matching_keys),
        BOTH(prefix_of_ff_bytes_has_no_upper_bound),
        BOTH(range_is_half_open),
        BOTH(limit_counts_pairs_in_either_direction),
        BOTH(prefix_and_range_intersect),
        BOTH(scan_callback_stops_early),
        BOTH(iterator_returns_pairs_then_stays_at_end),
        BOTH(iterator_status_reports_corruption),
        BOTH(view_does_not_see_later_writes),
        BOTH(multi_get_through_view_reads_its_state),
        BOTH(view_seq_matches_what_it_sees_under_writes),
        BOTH(view_seq_matches_what_it_sees_under_chained_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
