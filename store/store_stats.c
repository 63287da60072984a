/*
 * Properties and statistics: what the stat command prints and the metrics
 * to come export. Counters come from RocksDB's statistics object, which the
 * 7.8 C API exposes only as text, so the two we need are parsed out of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static uint64_t prop_sum(rs_store *s, const char *name)
{
    uint64_t total = 0;
    for (int i = 0; i < STORE_CF__COUNT; i++) {
        uint64_t v = 0;
        if (s->cf[i] != NULL && rocksdb_property_int_cf(s->db, s->cf[i], name, &v) == 0)
            total += v;
    }
    return total;
}

/* Of the family holding the user's keys. */
static uint64_t prop_user(rs_store *s, const char *name)
{
    uint64_t v = 0;
    struct store_user_read r;
    store_user_read(s, NULL, &r);
    if (rocksdb_property_int_cf(s->db, r.cf, name, &v) != 0)
        return 0;
    return v;
}

/* Finds "<name> COUNT : <n>" in RocksDB's statistics dump. */
static uint64_t ticker(const char *dump, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = strstr(dump, name); p != NULL; p = strstr(p + 1, name)) {
        if ((p == dump || p[-1] == '\n') && strncmp(p + len, " COUNT : ", 9) == 0)
            return strtoull(p + len + 9, NULL, 10);
    }
    return 0;
}

static uint64_t count_sst_files(rs_store *s)
{
    uint64_t n = 0;
    char name[64];
    for (int level = 0; level < 7; level++) {
        snprintf(name, sizeof name, "rocksdb.num-files-at-level%d", level);
        char *v = NULL;
        for (int i = 0; i < STORE_CF__COUNT; i++) {
            if (s->cf[i] == NULL)
                continue; /* a family a read-only open did not find */
            v = rocksdb_property_value_cf(s->db, s->cf[i], name);
            if (v != NULL) {
                n += strtoull(v, NULL, 10);
                rocksdb_free(v);
            }
        }
    }
    return n;
}

rs_code rs_store_stats_get(rs_store *s, rs_store_stats *out, rs_err *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    out->latest_seq = rocksdb_get_latest_sequence_number(s->db);
    out->estimated_keys = prop_user(s, "rocksdb.estimate-num-keys");
    out->live_sst_bytes = prop_sum(s, "rocksdb.live-sst-files-size");
    out->memtable_bytes = prop_sum(s, "rocksdb.cur-size-all-mem-tables");
    out->pending_compaction_bytes = prop_sum(s, "rocksdb.estimate-pending-compaction-bytes");
    out->n_running_compactions = prop_user(s, "rocksdb.num-running-compactions");
    out->block_cache_usage_bytes = rocksdb_cache_get_usage(s->cache);
    out->block_cache_capacity_bytes = s->cfg.block_cache_bytes;
    out->n_sst_files = count_sst_files(s);
    if (!s->cfg.disable_statistics) {
        char *dump = rocksdb_options_statistics_get_string(s->opts);
        if (dump != NULL) {
            out->block_cache_hits = ticker(dump, "rocksdb.block.cache.hit");
            out->block_cache_misses = ticker(dump, "rocksdb.block.cache.miss");
            rocksdb_free(dump);
        }
    }
    struct store_vstate st;
    if (store_vstate_read(s, NULL, &st, NULL) == RS_OK) {
        out->version_latest = st.latest;
        out->version_earliest = st.earliest;
    }
    store_prune_stats(s, out);
    out->wal_syncs = atomic_load(&s->syncer.n_syncs);
    return RS_OK;
}

char *rs_store_property(rs_store *s, const char *name)
{
    char *v = rocksdb_property_value(s->db, name);
    if (v == NULL)
        return NULL;
    char *copy = strdup(v);
    rocksdb_free(v);
    return copy;
}

rs_code rs_store_flush(rs_store *s, rs_err *err)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    char *errptr = NULL;
    for (int i = 0; i < STORE_CF__COUNT && errptr == NULL; i++)
        if (s->cf[i] != NULL)
            rocksdb_flush_cf(s->db, fo, s->cf[i], &errptr);
    rocksdb_flushoptions_destroy(fo);
    return errptr == NULL ? RS_OK : store_err_from(err, errptr, "flush", s->path);
}

/* RocksDB's BottommostLevelCompaction::kForceOptimized. */
#define STORE_BOTTOMMOST_FORCE_OPTIMIZED 3

rocksdb_compactoptions_t *store_compact_options_create(void)
{
    rocksdb_compactoptions_t *o = rocksdb_compactoptions_create();
    /* without forcing, a lone file is moved to the bottom as it is, so a
     * flushed (uncompressed) file would never get the bottom's zstd */
    rocksdb_compactoptions_set_bottommost_level_compaction(o, STORE_BOTTOMMOST_FORCE_OPTIMIZED);
    return o;
}

rs_code rs_store_compact(rs_store *s, rs_err *err)
{
    (void)err;
    store_gc_floor_apply(s); /* collect every pruned version */
    rocksdb_compactoptions_t *o = store_compact_options_create();
    for (int i = 0; i < STORE_CF__COUNT; i++)
        if (s->cf[i] != NULL)
            rocksdb_compact_range_cf_opt(s->db, s->cf[i], o, NULL, 0, NULL, 0);
    rocksdb_compactoptions_destroy(o);
    return RS_OK;
}
