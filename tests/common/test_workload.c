/*
 * common/workload: deterministic synthetic keys and values. The same seed
 * and index give the same bytes, keys are distinct, sequential keys sort in
 * index order, and compressibility is what zstd actually saves.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/workload.h"
#include "testlib/testlib.h"

#define N_KEYS 100000

static int cmp_keys16(const void *a, const void *b) { return memcmp(a, b, 16); }

static void same_seed_and_index_give_same_bytes(void **state)
{
    (void)state;
    rs_workload w = {.seed = 7, .key_size = 24, .value_size = 100, .compressibility = 0.5};
    uint8_t k1[24], k2[24], v1[100], v2[100];
    rs_workload_key(&w, 12345, k1);
    rs_workload_key(&w, 12345, k2);
    assert_memory_equal(k1, k2, sizeof k1);
    rs_workload_value(&w, 12345, v1);
    rs_workload_value(&w, 12345, v2);
    assert_memory_equal(v1, v2, sizeof v1);
    /* a known answer, so a change to the generator (which would change
     * what existing loads and tests expect) fails here */
    assert_int_equal(rs_workload_mix(0), 0xe220a8397b1dcdafull);
    /* another seed, other bytes */
    w.seed = 8;
    rs_workload_key(&w, 12345, k2);
    rs_workload_value(&w, 12345, v2);
    assert_memory_not_equal(k1, k2, sizeof k1);
    assert_memory_not_equal(v1, v2, sizeof v1);
}

static void keys_are_distinct(void **state)
{
    (void)state;
    rs_workload w = {.seed = 1, .key_size = 16};
    uint8_t *keys = malloc((size_t)N_KEYS * 16);
    assert_non_null(keys);
    for (uint64_t i = 0; i < N_KEYS; i++)
        rs_workload_key(&w, i, keys + i * 16);
    qsort(keys, N_KEYS, 16, cmp_keys16);
    for (size_t i = 1; i < N_KEYS; i++)
        assert_true(memcmp(keys + (i - 1) * 16, keys + i * 16, 16) < 0);
    free(keys);
}

static void scattered_keys_are_not_in_order(void **state)
{
    (void)state;
    rs_workload w = {.seed = 1, .key_size = 16};
    uint8_t a[16], b[16];
    int ascending = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        rs_workload_key(&w, i, a);
        rs_workload_key(&w, i + 1, b);
        ascending += memcmp(a, b, 16) < 0;
    }
    /* about half: a random order, not the index order */
    assert_true(ascending > 400 && ascending < 600);
}

static void sequential_keys_sort_in_index_order(void **state)
{
    (void)state;
    rs_workload w = {.seed = 3, .key_size = 16, .sequential = 1};
    uint8_t prev[16], cur[16];
    rs_workload_key(&w, 0, prev);
    for (uint64_t i = 1; i < N_KEYS; i++) {
        rs_workload_key(&w, i, cur);
        assert_true(memcmp(prev, cur, 16) < 0);
        memcpy(prev, cur, 16);
    }
    /* crossing a byte boundary keeps the order */
    rs_workload_key(&w, 255, prev);
    rs_workload_key(&w, 256, cur);
    assert_true(memcmp(prev, cur, 16) < 0);
}

/* zstd's compressed size over the original for 2000 values of 100 bytes
 * written back to back, the way they sit in a data block. */
static double zstd_ratio(double compressibility)
{
    rs_workload w = {.seed = 1, .key_size = 16, .value_size = 100, .compressibility = compressibility};
    size_t n = 2000, len = n * w.value_size;
    uint8_t *raw = malloc(len);
    size_t cap = ZSTD_compressBound(len);
    uint8_t *packed = malloc(cap);
    assert_non_null(raw);
    assert_non_null(packed);
    for (size_t i = 0; i < n; i++)
        rs_workload_value(&w, i, raw + i * w.value_size);
    size_t got = ZSTD_compress(packed, cap, raw, len, 3);
    assert_false(ZSTD_isError(got));
    free(raw);
    free(packed);
    return (double)got / (double)len;
}

static void compressibility_is_what_zstd_saves(void **state)
{
    (void)state;
    double half = zstd_ratio(0.5), none = zstd_ratio(0.0), most = zstd_ratio(0.9);
    print_message("      zstd keeps %.2f at 0.5, %.2f at 0.0, %.2f at 0.9\n", half, none, most);
    assert_true(half > 0.45 && half < 0.60);
    assert_true(none > 0.98);
    assert_true(most > 0.08 && most < 0.20);
}

static void check_refuses_out_of_range(void **state)
{
    (void)state;
    rs_workload ok = {.key_size = 16, .value_size = 100, .compressibility = 0.5};
    assert_int_equal(rs_workload_check(&ok), 0);
    rs_workload w = ok;
    w.key_size = 7;
    assert_int_equal(rs_workload_check(&w), -1);
    w = ok;
    w.key_size = RS_WORKLOAD_MAX_KEY + 1;
    assert_int_equal(rs_workload_check(&w), -1);
    w = ok;
    w.value_size = RS_WORKLOAD_MAX_VALUE + 1;
    assert_int_equal(rs_workload_check(&w), -1);
    w = ok;
    w.compressibility = 1.5;
    assert_int_equal(rs_workload_check(&w), -1);
    w.compressibility = NAN;
    assert_int_equal(rs_workload_check(&w), -1);
}

static void sequential_key_starts_with_big_endian_index(void **state)
{
    (void)state;
    rs_workload w = {.seed = 1, .key_size = 8, .value_size = 3, .compressibility = 1.0, .sequential = 1};
    uint8_t key[8], want[8] = {0, 0, 0, 0, 0, 0, 1, 2};
    rs_workload_key(&w, 0x0102, key);
    assert_memory_equal(key, want, sizeof key);
    /* fully compressible: one random byte, repeated */
    uint8_t val[3];
    rs_workload_value(&w, 9, val);
    assert_int_equal(val[0], val[1]);
    assert_int_equal(val[1], val[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_and_index_give_same_bytes),
        cmocka_unit_test(keys_are_distinct),
        cmocka_unit_test(scattered_keys_are_not_in_order),
        cmocka_unit_test(sequential_keys_sort_in_index_order),
        cmocka_unit_test(compressibility_is_what_zstd_saves),
        cmocka_unit_test(check_refuses_out_of_range),
        cmocka_unit_test(sequential_key_starts_with_big_endian_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
