/*
 * store: point reads and writes, batches, durability across reopen, the
 * database id, statistics. Every test runs on disk and on the in-memory
 * backend, which must behave the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

static int setup(void **state)
{
    rs_store_config cfg = {.write_buffer_bytes = 1 << 20};
    *state = rs_test_db_open("kv", *state != NULL, &cfg);
    return 0;
}

static int teardown(void **state)
{
    rs_test_db_close(*state);
    return 0;
}

static void put_then_get_returns_value(void **state)
{
    struct rs_test_db *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(f->store, B("k1"), 2, B("v1"), 2, &err), RS_OK);
    rs_test_expect_value(f->store, NULL, "k1", "v1");
    assert_int_equal(rs_store_put(f->store, B("k1"), 2, B("v2"), 2, &err), RS_OK);
    rs_test_expect_value(f->store, NULL, "k1", "v2");
}

static void get_missing_key_is_notfound(void **state)
{
    struct rs_test_db *f = *state;
    rs_test_expect_missing(f->store, NULL, "absent");
}

static void delete_removes_key(void **state)
{
    struct rs_test_db *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(f->store, B("gone"), 4, B("x"), 1, &err), RS_OK);
    assert_int_equal(rs_store_delete(f->store, B("gone"), 4, &err), RS_OK);
    rs_test_expect_missing(f->store, NULL, "gone");
    /* deleting a missing key succeeds */
    assert_int_equal(rs_store_delete(f->store, B("never"), 5, &err), RS_OK);
}

static void binary_keys_and_values_round_trip(void **state)
{
    struct rs_test_db *f = *state;
    rs_err err = RS_ERR_INIT;
    const uint8_t key[] = {0, 1, 0xff, 0, 'a'};
    uint8_t val[256];
    for (int i = 0; i < 256; i++)
        val[i] = (uint8_t)i;
    assert_int_equal(rs_store_put(f->store, key, sizeof key, val, sizeof val, &err), RS_OK);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(f->store, NULL, key, sizeof key, &v, &err), RS_OK);
    assert_int_equal(v.len, sizeof val);
    assert_memory_equal(v.data, val, sizeof val);
    rs_store_value_release(&v);
    /* an empty value is a value, not a missing key */
    assert_int_equal(rs_store_put(f->store, B("empty"), 5, B(""), 0, &err), RS_OK);
    rs_test_expect_value(f->store, NULL, "empty", "");
}

static void large_value_round_trips(void **state)
{
    struct rs_test_db *f = *state;
    rs_err err = RS_ERR_INIT;
    size_t len = 16u << 20;
    uint8_t *val = malloc(len);
    for (size_t i = 0; i < len; i++)
        val[i] = (uint8_t)(i * 7 + (i >> 12));
    assert_int_equal(rs_store_put(f->store, B("big"), 3, val, len, &err), RS_OK);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(f->store, NULL, B("big"), 3, &v, &err), RS_OK);
    assert_int_equal(v.len, len);
    assert_memory_equal(v.data, val, len);
    rs_store_value_release(&v);
    free(val);
}

/* A batch of k operations takes k sequence numbers, and one more for the
 * chain record while the store is chained (store.h). */
static void write_batch_of_three(rs_store *s)
{
    rs_err err = RS_ERR_INIT;
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_put(s, B("old"), 3, B("1"), 1, &err), RS_OK);
    uint64_t before = rs_store_latest_seq(s);
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, B("a"), 1, B("A"), 1);
    rs_store_batch_put(b, B("b"), 1, B("B"), 1);
    rs_store_batch_delete(b, B("old"), 3);
    assert_int_equal(rs_store_batch_count(b), 3);
    assert_true(rs_store_batch_bytes(b) > 0);
    size_t bytes = rs_store_batch_bytes(b);
    assert_int_equal(rs_store_write(s, b, &err), RS_OK);
    assert_int_equal(rs_store_latest_seq(s), before + (rs_store_is_chained(s) ? 4 : 3));
    /* the caller's batch comes back as it was: no stamp, no chain record */
    assert_int_equal(rs_store_batch_count(b), 3);
    assert_int_equal(rs_store_batch_bytes(b), bytes);
    rs_test_expect_value(s, NULL, "a", "A");
    rs_test_expect_value(s, NULL, "b", "B");
    rs_test_expect_missing(s, NULL, "old");
    rs_store_batch_clear(b);
    assert_int_equal(rs_store_batch_count(b), 0);
    rs_store_batch_destroy(b);
}

static void batch_applies_atomically(void **state)
{
    struct rs_test_db *f = *state;
    assert_false(rs_store_is_chained(f->store)); /* the default */
    write_batch_of_three(f->store);
    rs_store_set_chained(f->store, 1);
    write_batch_of_three(f->store);
}

static void batch_delete_range_removes_half_open_range(void **state)
{
    struct rs_test_db *f = *state;
    rs_err err = RS_ERR_INIT;
    const char *keys[] = {"r1", "r2", "r3", "r4"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(rs_store_put(f->store, B(keys[i]), 2, B("x"), 1, &err), RS_OK);
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_delete_range(b, B("r2"), 2, B("r4"), 2);
    assert_int_equal(rs_store_write(f->store, b, &err), RS_OK);
    rs_store_batch_destroy(b);
    rs_test_expect_value(f->store, NULL, "r1", "x");
    rs_test_expect_missing(f->store, NULL, "r2");
    rs_test_expect_missing(f->store, NULL, "r3");
    rs_test_expect_value(f->store, NULL, "r4", "x");
}

static void multi_get_reports_each_key(void **state)
{
    struct rs_test_db *f = *state;
    rs_test_put(f->store, "m1", "one");
    rs_test_put(f->store, "m3", "three");
    const char *keys[] = {"m1", "m2", "m3"}, *want[] = {"one", NULL, "three"};
    rs_test_expect_multi(f->store, NULL, 3, keys, want);
}

static void write_nowait_then_sync_wait(void **state)
{
    struct rs_test_db *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, B("nw"), 2, B("1"), 1);
    uint64_t seq = 0;
    assert_int_equal(rs_store_write_nowait(f->store, b, &seq, &err), RS_OK);
    assert_true(seq >= rs_store_latest_seq(f->store) - 0);
    assert_int_equal(rs_store_sync_wait(f->store, seq, &err), RS_OK);
    rs_test_expect_value(f->store, NULL, "nw", "1");
    rs_store_batch_destroy(b);
}

static void data_and_id_survive_reopen(void **state)
{
    struct rs_test_db *f = *state;
    if (f->in_memory)
        skip(); /* the in-memory backend forgets everything at close by design */
    rs_err err = RS_ERR_INIT;
    uint8_t id1[16], id2[16];
    rs_store_id(f->store, id1);
    assert_int_equal(rs_store_put(f->store, B("durable"), 7, B("yes"), 3, &err), RS_OK);
    uint64_t seq = rs_store_latest_seq(f->store);
    rs_test_db_reopen(f);
    rs_test_expect_value(f->store, NULL, "durable", "yes");
    assert_int_equal(rs_store_latest_seq(f->store), seq);
    rs_store_id(f->store, id2);
    assert_memory_equal(id1, id2, sizeof id1);
}

static void databases_get_distinct_ids(void **state)
{
    struct rs_test_db *f = *state;
    char *other = rs_test_path(f->dir, "other");
    rs_store_config cfg = {.create_if_missing = 1, .in_memory = f->in_memory};
    rs_store *s = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_open(other, &cfg, &s, &err), RS_OK);
    uint8_t a[16], b[16];
    rs_store_id(f->store, a);
    rs_store_id(s, b);
    assert_memory_not_equal(a, b, sizeof a);
    rs_store_close(s);
    free(other);
}

static void stats_reflect_writes_and_reads(void **state)
{
    struct rs_test_db *f = *state;
    rs_err err = RS_ERR_INIT;
    char key[16];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "s%05d", i);
        assert_int_equal(rs_store_put(f->store, B(key), (size_t)n, B("value"), 5, &err), RS_OK);
    }
    rs_store_stats st;
    assert_int_equal(rs_store_stats_get(f->store, &st, &err), RS_OK);
    assert_true(st.memtable_bytes > 0);
    assert_int_equal(st.latest_seq, rs_store_latest_seq(f->store));
    assert_true(f->in_memory ? st.wal_syncs == 0 : st.wal_syncs > 0);
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "s%05d", i);
        rs_store_value v = {0};
        assert_int_equal(rs_store_get(f->store, NULL, B(key), (size_t)n, &v, &err), RS_OK);
        rs_store_value_release(&v);
    }
    assert_int_equal(rs_store_stats_get(f->store, &st, &err), RS_OK);
    assert_true(st.live_sst_bytes > 0);
    assert_true(st.n_sst_files >= 1);
    assert_true(st.estimated_keys >= 900 && st.estimated_keys <= 1100);
    assert_true(st.block_cache_hits + st.block_cache_misses > 0);
    assert_true(st.block_cache_usage_bytes > 0);
    char *levels = rs_store_property(f->store, "rocksdb.levelstats");
    assert_non_null(levels);
    free(levels);
    assert_null(rs_store_property(f->store, "rocksdb.no-such-property"));
}

static void read_only_open_reads_and_refuses_writes(void **state)
{
    struct rs_test_db *f = *state;
    if (f->in_memory)
        skip(); /* a second handle on an in-memory database sees nothing */
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(f->store, B("ro"), 2, B("seen"), 4, &err), RS_OK);
    rs_store_config cfg = {.read_only = 1};
    rs_store *ro = NULL;
    /* no lock is taken: the writer keeps the database open meanwhile */
    assert_int_equal(rs_store_open(f->db, &cfg, &ro, &err), RS_OK);
    rs_test_expect_value(ro, NULL, "ro", "seen");
    uint8_t a[16], b[16];
    rs_store_id(f->store, a);
    rs_store_id(ro, b);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(rs_store_put(ro, B("x"), 1, B("y"), 1, &err), RS_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "read-only"));
    rs_store_close(ro);
}

#define BOTH(fn)                                                                \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, NULL),        \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)1)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(put_then_get_returns_value),
        BOTH(get_missing_key_is_notfound),
        BOTH(delete_removes_key),
        BOTH(binary_keys_and_values_round_trip),
        BOTH(large_value_round_trips),
        BOTH(batch_applies_atomically),
        BOTH(batch_delete_range_removes_half_open_range),
        BOTH(multi_get_reports_each_key),
        BOTH(write_nowait_then_sync_wait),
        BOTH(data_and_id_survive_reopen),
        BOTH(databases_get_distinct_ids),
        BOTH(stats_reflect_writes_and_reads),
        BOTH(read_only_open_reads_and_refuses_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
