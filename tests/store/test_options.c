/*
 * store: configuration. Defaults, the sync policy names, and storage tiers:
 * with tiny memtables and tier sizes, flushes and compactions spread SST
 * files over more than one tier directory and every key stays readable.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/workload.h"
#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

#define MiB (1024ull * 1024ull)

static void resolve_fills_documented_defaults(void **state)
{
    (void)state;
    rs_store_config c = {0};
    rs_store_config_resolve(&c);
    assert_int_equal(c.block_cache_bytes, 256 * MiB);
    assert_int_equal(c.write_buffer_bytes, 64 * MiB);
    assert_int_equal(c.write_buffer_count, 4);
    assert_int_equal(c.bloom_bits_per_key, 10);
    assert_int_equal(c.upper_compression, RS_STORE_COMPRESSION_LZ4);
    assert_int_equal(c.bottom_compression, RS_STORE_COMPRESSION_ZSTD);
    assert_int_equal(c.zstd_level, 3);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(c.background_jobs, cpus < 2 ? 2 : cpus);
    assert_int_equal(c.sync, RS_STORE_SYNC_GROUP);
    assert_int_equal(c.group_commit_us, 0);
    assert_int_equal(c.wal_keep_seconds, 3600);
    assert_int_equal(c.wal_keep_bytes, 1024 * MiB);
    assert_int_equal(c.n_tiers, 0);
    assert_false(c.create_if_missing);
    assert_false(c.read_only);

    rs_store_config again = c;
    rs_store_config_resolve(&again);
    assert_memory_equal(&again, &c, sizeof c); /* idempotent */
}

static void resolve_keeps_what_is_set(void **state)
{
    (void)state;
    rs_store_config c = {.block_cache_bytes = 1 * MiB, .write_buffer_count = 2, .bloom_bits_per_key = -1,
                         .upper_compression = RS_STORE_COMPRESSION_NONE, .zstd_level = 19,
                         .sync = RS_STORE_SYNC_ALWAYS, .group_commit_us = 500};
    rs_store_config_resolve(&c);
    assert_int_equal(c.block_cache_bytes, 1 * MiB);
    assert_int_equal(c.write_buffer_count, 2);
    assert_int_equal(c.bloom_bits_per_key, -1);
    assert_int_equal(c.upper_compression, RS_STORE_COMPRESSION_NONE);
    assert_int_equal(c.zstd_level, 19);
    assert_int_equal(c.sync, RS_STORE_SYNC_ALWAYS);
    assert_int_equal(c.group_commit_us, 500);
    assert_int_equal(c.write_buffer_bytes, 64 * MiB); /* unset: default */
}

/* There is no disk to fsync under the in-memory backend. */
static void in_memory_forces_sync_none(void **state)
{
    (void)state;
    rs_store_config c = {.in_memory = 1, .sync = RS_STORE_SYNC_ALWAYS, .create_if_missing = 1};
    rs_store *s = rs_test_store_open("/mem/opts", &c);
    const rs_store_config *in_effect = rs_store_config_get(s);
    assert_int_equal(in_effect->sync, RS_STORE_SYNC_NONE);
    assert_int_equal(in_effect->write_buffer_bytes, 64 * MiB);
    assert_string_equal(rs_store_path(s), "/mem/opts");
    rs_store_close(s);
}

static void sync_policy_names_parse_and_print(void **state)
{
    (void)state;
    static const struct { const char *name; rs_store_sync want; } ok[] = {
        {"always", RS_STORE_SYNC_ALWAYS}, {"group", RS_STORE_SYNC_GROUP},
        {"none", RS_STORE_SYNC_NONE},     {"GROUP", RS_STORE_SYNC_GROUP},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        rs_store_sync got = RS_STORE_SYNC_DEFAULT;
        assert_int_equal(rs_store_sync_parse(ok[i].name, &got), 0);
        assert_int_equal(got, ok[i].want);
    }
    rs_store_sync untouched = RS_STORE_SYNC_ALWAYS;
    assert_int_equal(rs_store_sync_parse("sometimes", &untouched), -1);
    assert_int_equal(rs_store_sync_parse("", &untouched), -1);
    assert_int_equal(untouched, RS_STORE_SYNC_ALWAYS);
    assert_string_equal(rs_store_sync_name(RS_STORE_SYNC_ALWAYS), "always");
    assert_string_equal(rs_store_sync_name(RS_STORE_SYNC_GROUP), "group");
    assert_string_equal(rs_store_sync_name(RS_STORE_SYNC_NONE), "none");
    assert_string_equal(rs_store_sync_name(RS_STORE_SYNC_DEFAULT), "group");
    assert_string_equal(rs_store_sync_name((rs_store_sync)42), "unknown");
}

/* ---- tiers ---------------------------------------------------------- */

static int count_ssts(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".sst") == 0;
    }
    closedir(d);
    return n;
}

static int compactions_done(void *arg)
{
    rs_store_stats st;
    rs_err err = RS_ERR_INIT;
    if (rs_store_stats_get(arg, &st, &err) != RS_OK)
        return 0;
    return st.pending_compaction_bytes == 0 && st.n_running_compactions == 0;
}

static void write_kib_values(rs_store *s, unsigned long n)
{
    static uint8_t val[1024];
    char key[32];
    for (unsigned long i = 0; i < n; i++) {
        memset(val, (int)('a' + i % 26), sizeof val);
        snprintf(key, sizeof key, "tier-%06lu", (i * 7919) % n); /* scattered */
        rs_err err = RS_ERR_INIT;
        if (rs_store_put(s, B(key), strlen(key), val, sizeof val, &err) != RS_OK)
            fail_msg("put: %s", err.msg);
    }
}

static void tiers_spread_files_over_their_directories(void **state)
{
    (void)state;
    char *dir = rs_test_tmpdir("tiers");
    char *db = rs_test_path(dir, "db");
    char *paths[3] = {rs_test_path(dir, "hot"), rs_test_path(dir, "warm"), rs_test_path(dir, "cold")};
    /* 64 KiB memtables make a 256 KiB L1 and a 2.5 MiB L2: L0 and L1 fit
     * the hot tier, L2 the warm one, and what is deeper goes cold */
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE, .write_buffer_bytes = 64 * 1024,
                           .upper_compression = RS_STORE_COMPRESSION_NONE,
                           .bottom_compression = RS_STORE_COMPRESSION_NONE, .n_tiers = 3};
    uint64_t targets[3] = {512 * 1024, 4 * MiB, 0};
    for (int i = 0; i < 3; i++)
        cfg.tiers[i] = (rs_store_tier){.path = paths[i], .target_bytes = targets[i]};
    rs_store *s = rs_test_store_open(db, &cfg);
    write_kib_values(s, 8000);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_flush(s, &err), RS_OK);
    assert_true(rs_test_poll(compactions_done, s, 60000));

    int used = 0;
    for (int i = 0; i < 3; i++) {
        int n = count_ssts(paths[i]);
        print_message("      %s: %d SST files\n", paths[i], n);
        used += n > 0;
    }
    assert_int_equal(count_ssts(db), 0); /* with tiers, none in the database directory */
    assert_true(used >= 2);
    rs_store_close(s);

    s = rs_test_store_open(db, &cfg);
    char key[32];
    snprintf(key, sizeof key, "tier-%06d", 7999);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(s, NULL, B(key), strlen(key), &v, &err), RS_OK);
    assert_int_equal(v.len, 1024);
    rs_store_value_release(&v);
    rs_store_stats st;
    assert_int_equal(rs_store_stats_get(s, &st, &err), RS_OK);
    assert_true(st.estimated_keys >= 7000 && st.estimated_keys <= 9000);
    rs_store_close(s);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
    free(db);
    rs_test_tmpdir_remove(dir);
}

/* A flush writes one uncompressed file; compacting must still rewrite it
 * with the bottom level's zstd, not merely move it down. */
static void compact_gives_the_bottom_its_compression(void **state)
{
    (void)state;
    char *dir = rs_test_tmpdir("compress");
    char *db = rs_test_path(dir, "db");
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE};
    rs_store *s = rs_test_store_open(db, &cfg);
    rs_workload w = {.seed = 1, .key_size = 16, .value_size = 1000, .compressibility = 0.5};
    uint8_t key[16], val[1000];
    rs_err err = RS_ERR_INIT;
    for (uint64_t i = 0; i < 4000; i++) {
        rs_workload_key(&w, i, key);
        rs_workload_value(&w, i, val);
        assert_int_equal(rs_store_put(s, key, sizeof key, val, sizeof val, &err), RS_OK);
    }
    assert_int_equal(rs_store_flush(s, &err), RS_OK);
    rs_store_stats st;
    assert_int_equal(rs_store_stats_get(s, &st, &err), RS_OK);
    uint64_t flushed = st.live_sst_bytes;
    assert_int_equal(rs_store_compact(s, &err), RS_OK);
    assert_int_equal(rs_store_stats_get(s, &st, &err), RS_OK);
    print_message("      4 MB of half-compressible values: %llu SST bytes flushed, %llu compacted\n",
                  (unsigned long long)flushed, (unsigned long long)st.live_sst_bytes);
    assert_true(flushed > 4000 * 1000);
    assert_true(st.live_sst_bytes < 4000 * 1000 * 6 / 10);
    rs_store_close(s);
    free(db);
    rs_test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resolve_fills_documented_defaults),
        cmocka_unit_test(resolve_keeps_what_is_set),
        cmocka_unit_test(in_memory_forces_sync_none),
        cmocka_unit_test(sync_policy_names_parse_and_print),
        cmocka_unit_test(tiers_spread_files_over_their_directories),
        cmocka_unit_test(compact_gives_the_bottom_its_compression),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
