/*
 * The store's configuration: defaults, and the translation of an
 * rs_store_config into RocksDB options. Why each default is what it is lives
 * in docs/store.md; the numbers are here.
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store/store_int.h"

#define MiB (1024ull * 1024ull)

/* RocksDB's InfoLogLevel::FATAL_LEVEL; the C API takes the number. */
#define STORE_LOG_FATAL 4

/* RocksDB's level count; compression_per_level needs it spelled out. */
#define STORE_NUM_LEVELS 7

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

void rs_store_config_resolve(rs_store_config *cfg)
{
    if (cfg->block_cache_bytes == 0)
        cfg->block_cache_bytes = 256 * MiB;
    if (cfg->write_buffer_bytes == 0)
        cfg->write_buffer_bytes = 64 * MiB;
    if (cfg->write_buffer_count == 0)
        cfg->write_buffer_count = 4;
    if (cfg->bloom_bits_per_key == 0)
        cfg->bloom_bits_per_key = 10;
    if (cfg->upper_compression == RS_STORE_COMPRESSION_DEFAULT)
        cfg->upper_compression = RS_STORE_COMPRESSION_LZ4;
    if (cfg->bottom_compression == RS_STORE_COMPRESSION_DEFAULT)
        cfg->bottom_compression = RS_STORE_COMPRESSION_ZSTD;
    if (cfg->zstd_level == 0)
        cfg->zstd_level = 3;
    if (cfg->background_jobs == 0)
        cfg->background_jobs = cpu_count() < 2 ? 2 : cpu_count();
    /* RocksDB's in-memory Env refuses SyncWAL(); there is no disk to reach */
    if (cfg->in_memory)
        cfg->sync = RS_STORE_SYNC_NONE;
    if (cfg->sync == RS_STORE_SYNC_DEFAULT)
        cfg->sync = RS_STORE_SYNC_GROUP;
    if (cfg->wal_keep_seconds == 0)
        cfg->wal_keep_seconds = 3600;
    if (cfg->wal_keep_bytes == 0)
        cfg->wal_keep_bytes = 1024 * MiB;
}

static const char *const sync_names[] = {
    [RS_STORE_SYNC_DEFAULT] = "group",
    [RS_STORE_SYNC_ALWAYS] = "always",
    [RS_STORE_SYNC_GROUP] = "group",
    [RS_STORE_SYNC_NONE] = "none",
};

int rs_store_sync_parse(const char *name, rs_store_sync *out)
{
    for (int s = RS_STORE_SYNC_ALWAYS; s <= RS_STORE_SYNC_NONE; s++) {
        if (strcasecmp(name, sync_names[s]) == 0) {
            *out = (rs_store_sync)s;
            return 0;
        }
    }
    return -1;
}

const char *rs_store_sync_name(rs_store_sync sync)
{
    if ((unsigned)sync > RS_STORE_SYNC_NONE)
        return "unknown";
    return sync_names[sync];
}

static int rocksdb_compression(rs_store_compression c)
{
    switch (c) {
    case RS_STORE_COMPRESSION_NONE: return rocksdb_no_compression;
    case RS_STORE_COMPRESSION_LZ4: return rocksdb_lz4_compression;
    case RS_STORE_COMPRESSION_ZSTD: return rocksdb_zstd_compression;
    case RS_STORE_COMPRESSION_DEFAULT: break;
    }
    return rocksdb_lz4_compression;
}

/* L0 and L1 hold young data that is rewritten soon: compressing it costs
 * CPU on every flush and compaction for little gain. The middle levels use
 * the fast codec and the bottom, where most bytes settle, the strong one. */
static void set_compression(rocksdb_options_t *o, const rs_store_config *cfg)
{
    int per_level[STORE_NUM_LEVELS];
    for (int i = 0; i < STORE_NUM_LEVELS; i++)
        per_level[i] = i < 2 ? rocksdb_no_compression : rocksdb_compression(cfg->upper_compression);
    per_level[STORE_NUM_LEVELS - 1] = rocksdb_compression(cfg->bottom_compression);
    rocksdb_options_set_num_levels(o, STORE_NUM_LEVELS);
    rocksdb_options_set_compression_per_level(o, per_level, STORE_NUM_LEVELS);
    rocksdb_options_set_bottommost_compression(o, rocksdb_compression(cfg->bottom_compression));
    /* window_bits, level, strategy, max_dict_bytes, enabled */
    rocksdb_options_set_bottommost_compression_options(o, -14, cfg->zstd_level, 0, 0, 1);
}

static void set_table(rocksdb_options_t *o, const rs_store_config *cfg, rocksdb_cache_t *cache)
{
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(t, cache);
    if (cfg->bloom_bits_per_key > 0)
        rocksdb_block_based_options_set_filter_policy(
            t, rocksdb_filterpolicy_create_bloom_full((double)cfg->bloom_bits_per_key));
    rocksdb_block_based_options_set_format_version(t, 5);
    /* a hash index inside each data block answers point gets without a
     * binary search; it costs ~1% of space */
    rocksdb_block_based_options_set_data_block_index_type(
        t, rocksdb_block_based_table_data_block_index_type_binary_search_and_hash);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(t, 1);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);
}

static void set_tiers(rocksdb_options_t *o, const rs_store_config *cfg)
{
    if (cfg->n_tiers == 0)
        return;
    const rocksdb_dbpath_t *paths[RS_STORE_MAX_TIERS];
    for (size_t i = 0; i < cfg->n_tiers; i++) {
        /* the last tier takes whatever is left */
        uint64_t target = i + 1 == cfg->n_tiers ? UINT64_MAX / 2 : cfg->tiers[i].target_bytes;
        paths[i] = rocksdb_dbpath_create(cfg->tiers[i].path, target);
    }
    rocksdb_options_set_db_paths(o, paths, cfg->n_tiers);
    for (size_t i = 0; i < cfg->n_tiers; i++)
        rocksdb_dbpath_destroy((rocksdb_dbpath_t *)paths[i]);
}

rocksdb_options_t *store_options_build(const rs_store_config *cfg, rocksdb_env_t *mem_env,
                                       rocksdb_cache_t **cache)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, cfg->create_if_missing ? 1 : 0);
    rocksdb_options_set_create_missing_column_families(o, 1);
    if (mem_env != NULL)
        rocksdb_options_set_env(o, mem_env);
    rocksdb_options_increase_parallelism(o, cfg->background_jobs);
    rocksdb_options_set_max_background_jobs(o, cfg->background_jobs);
    rocksdb_options_set_write_buffer_size(o, cfg->write_buffer_bytes);
    rocksdb_options_set_max_write_buffer_number(o, cfg->write_buffer_count);
    /* a bloom filter per memtable (2% of its size) lets a point get skip the
     * memtables that cannot hold the key; without it a get searches every
     * skiplist, which took a third of GET time in bench/bench_serve.sh */
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(o, 0.02);
    rocksdb_options_set_memtable_whole_key_filtering(o, 1);
    /* L1 holds about what four flushes bring (RocksDB's level-0 trigger is
     * four files), so level sizes, and with them which tier a level lands
     * on, scale with the memtable: 64 MiB memtables give a 256 MiB L1 */
    rocksdb_options_set_target_file_size_base(o, cfg->write_buffer_bytes);
    rocksdb_options_set_max_bytes_for_level_base(o, 4 * cfg->write_buffer_bytes);
    /* with tiers, level sizes must be predictable so files land on the tier
     * whose size matches their level; otherwise let RocksDB size levels from
     * the bottom up, which bounds space amplification */
    rocksdb_options_set_level_compaction_dynamic_level_bytes(o, cfg->n_tiers == 0);
    rocksdb_options_set_bytes_per_sync(o, 1 * MiB);
    rocksdb_options_set_wal_bytes_per_sync(o, 1 * MiB);
    rocksdb_options_set_enable_pipelined_write(o, 1);
    rocksdb_options_set_wal_recovery_mode(o, rocksdb_point_in_time_recovery);
    /* every batch puts the chain record into the meta family (store.h):
     * its memtable fills slowly, and until it flushes it keeps every WAL
     * file since alive (live, out of reach of the retention budget). Past
     * two memtables of live WAL, RocksDB flushes the family holding the
     * oldest one. (atomic_flush would do it too, but RocksDB refuses it
     * with pipelined writes.) */
    rocksdb_options_set_max_total_wal_size(o, 2 * cfg->write_buffer_bytes);
    rocksdb_options_set_keep_log_file_num(o, 5);
    /* archived WAL files stay readable by rocksdb_get_updates_since. On
     * disk the store applies the budget itself (store_walkeep.c: RocksDB
     * 7.8 would look only every ten minutes), so RocksDB archives and never
     * purges: a TTL it will not reach, no size limit. In memory, RocksDB's
     * own limits do. */
    if (mem_env == NULL) {
        rocksdb_options_set_WAL_ttl_seconds(o, STORE_WAL_TTL_NEVER);
        rocksdb_options_set_WAL_size_limit_MB(o, 0);
    } else {
        rocksdb_options_set_WAL_ttl_seconds(o, cfg->wal_keep_seconds);
        uint64_t wal_mb = cfg->wal_keep_bytes / MiB;
        rocksdb_options_set_WAL_size_limit_MB(o, wal_mb == 0 ? 1 : wal_mb);
    }
    if (!cfg->disable_statistics)
        rocksdb_options_enable_statistics(o);
    /* Debian's RocksDB keeps its assertions: once a write to its LOG file
     * fails (a full disk), the next one aborts the process. Logging only
     * fatal events keeps a full disk an error the caller sees; the figures
     * the LOG would hold are in rs_store_stats and the properties. */
    rocksdb_options_set_info_log_level(o, STORE_LOG_FATAL);
    set_compression(o, cfg);
    *cache = rocksdb_cache_create_lru(cfg->block_cache_bytes);
    set_table(o, cfg, *cache);
    set_tiers(o, cfg);
    return o;
}
