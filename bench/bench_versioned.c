/*
 * bench_versioned: what versioned state costs, each figure against a
 * reference measured in the same run.
 *
 *   bench_versioned [--dir DIR] [--blocks N] [--keys N] [--key-bytes N]
 *
 *   1. commits of 1,000-write blocks vs plain batched writes of the same
 *      batches (ratio), durable (sync group) and not (sync none);
 *   2. latest reads (rs_store_get on the versioned store) vs plain gets on
 *      a plain store holding the same data (ratio), and get_at(latest);
 *   3. disk use at block N/10 and N (default 100,000) with keep-recent 100
 *      vs an archive node ("nothing") and vs a plain store given the same
 *      writes, blocks of 20 writes, at rest and compacted;
 *   4. get_at latency 1, 100 and 10,000 versions back (the archive) vs a
 *      get on the plain store of part 3; a depth past the first version
 *      (fewer blocks) is skipped and said so;
 *   5. pruning throughput: the archive pruned to keep-recent N/2, then to
 *      keep-recent 100 with keep-every 1000.
 *
 * Keys are 32 bytes (--key-bytes), values 100 bytes (half compressible),
 * written at random over a key space filled first (--keys, default
 * 200,000), so the state does not grow while history does. docs/benchmarks.md records runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/workload.h"
#include "store/store.h"

#define KEY_BYTES 32      /* the default; --key-bytes N, 8 to KEY_MAX */
#define KEY_MAX 64
#define VALUE_BYTES 100
#define BIG_BLOCK 1000       /* writes per block in parts 1 and 2 */
#define SMALL_BLOCK 20       /* writes per block in parts 3 to 5 */
#define RATIO_BLOCKS 400     /* blocks per side in part 1, per sync policy */
#define RATIO_CHUNK 20       /* blocks in a row before switching sides */
#define READS 200000
#define DEPTH_READS 20000

struct bench {
    const char *dir;
    uint64_t    blocks;
    uint64_t    keys;
    rs_workload w;
    uint64_t    rng;
    uint64_t    serial; /* numbers the plain store's small blocks */
    uint8_t     key[KEY_MAX], val[VALUE_BYTES];
};

static void die(const char *what, const rs_err *err)
{
    fprintf(stderr, "bench_versioned: %s: %s\n", what, err->msg);
    exit(1);
}

static uint64_t next_rand(struct bench *b)
{
    b->rng = rs_workload_mix(b->rng);
    return b->rng;
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

static rs_store *open_store(struct bench *b, const char *name, rs_store_sync sync, rs_store_prune_mode mode,
                            uint64_t keep_recent, uint64_t keep_every, int small)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", b->dir, name);
    rs_store_config cfg = {
        .create_if_missing = 1,
        .sync = sync,
        .write_buffer_bytes = small ? 8u << 20 : 0,
        .write_buffer_count = small ? 2 : 0,
        .wal_keep_seconds = 1,  /* the archived WAL is not versioned state */
        .wal_keep_bytes = 1u << 20,
        .prune = {mode, keep_recent, keep_every, mode == RS_STORE_PRUNE_CUSTOM ? 10 : 0},
    };
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        die("open", &err);
    return s;
}

/* A block of n random writes; the value says which write it is. */
static void fill_block(struct bench *b, rs_store_batch *batch, size_t n, uint64_t serial)
{
    rs_store_batch_clear(batch);
    for (size_t i = 0; i < n; i++) {
        rs_workload_key(&b->w, next_rand(b) % b->keys, b->key);
        rs_workload_value(&b->w, serial * n + i, b->val);
        rs_store_batch_put(batch, b->key, b->w.key_size, b->val, VALUE_BYTES);
    }
}

/* The whole key space, as the first version (versioned) or in batches. */
static void fill_keys(struct bench *b, rs_store *s, int versioned)
{
    rs_store_batch *batch = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_batch_create(&batch, &err) != RS_OK)
        die("batch", &err);
    for (uint64_t i = 0; i < b->keys; i++) {
        rs_workload_key(&b->w, i, b->key);
        rs_workload_value(&b->w, i, b->val);
        rs_store_batch_put(batch, b->key, b->w.key_size, b->val, VALUE_BYTES);
        if (!versioned && (i + 1) % 10000 == 0) {
            if (rs_store_write(s, batch, &err) != RS_OK)
                die("fill", &err);
            rs_store_batch_clear(batch);
        }
    }
    rs_code rc = versioned ? rs_store_commit(s, rs_store_version_latest(s) + 1, batch, &err)
                           : rs_store_write(s, batch, &err);
    if (rc != RS_OK)
        die("fill", &err);
    rs_store_batch_destroy(batch);
}

/* ------------------------------------------------------------------ */
/* 1. commits vs plain batched writes                                  */
/* ------------------------------------------------------------------ */

static void commit_ratio(struct bench *b, rs_store_sync sync, const char *label)
{
    char pname[64], vname[64];
    snprintf(pname, sizeof pname, "plain-%s", label);
    snprintf(vname, sizeof vname, "versioned-%s", label);
    rs_store *plain = open_store(b, pname, sync, RS_STORE_PRUNE_NOTHING, 0, 0, 0);
    rs_store *ver = open_store(b, vname, sync, RS_STORE_PRUNE_CUSTOM, 100, 0, 0);
    fill_keys(b, plain, 0);
    fill_keys(b, ver, 1);
    rs_store_batch *batch = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_batch_create(&batch, &err) != RS_OK)
        die("batch", &err);
    uint64_t t_plain = 0, t_ver = 0, serial = 0;
    /* the two sides alternate in chunks, so the machine's mood falls on both */
    for (uint64_t done = 0; done < RATIO_BLOCKS; done += RATIO_CHUNK) {
        uint64_t rng = b->rng;
        uint64_t t0 = rs_clock_mono_ns();
        for (int i = 0; i < RATIO_CHUNK; i++) {
            fill_block(b, batch, BIG_BLOCK, serial + (uint64_t)i);
            if (rs_store_write(plain, batch, &err) != RS_OK)
                die("write", &err);
        }
        uint64_t t1 = rs_clock_mono_ns();
        b->rng = rng; /* the same batches */
        for (int i = 0; i < RATIO_CHUNK; i++) {
            fill_block(b, batch, BIG_BLOCK, serial + (uint64_t)i);
            if (rs_store_commit(ver, rs_store_version_latest(ver) + 1, batch, &err) != RS_OK)
                die("commit", &err);
        }
        t_ver += rs_clock_mono_ns() - t1;
        t_plain += t1 - t0;
        serial += RATIO_CHUNK;
    }
    double wp = RATIO_BLOCKS * BIG_BLOCK / secs(t_plain), wv = RATIO_BLOCKS * BIG_BLOCK / secs(t_ver);
    printf("commit (sync %-5s) %d blocks of %d: plain %8.0f writes/s (%.2f ms/block), versioned %8.0f writes/s "
           "(%.2f ms/block), ratio %.2f\n",
           label, RATIO_BLOCKS, BIG_BLOCK, wp, secs(t_plain) * 1e3 / RATIO_BLOCKS, wv,
           secs(t_ver) * 1e3 / RATIO_BLOCKS, wv / wp);
    rs_store_batch_destroy(batch);
    rs_store_close(plain);
    rs_store_close(ver);
}

/* ------------------------------------------------------------------ */
/* 2. latest reads vs plain gets                                       */
/* ------------------------------------------------------------------ */

/* Waits (at most a minute) until RocksDB's compactions are done, so that
 * reads are timed against reads and not against the compaction debt the
 * versioned store's larger writes left behind on two cores. */
static void settle(rs_store *s)
{
    rs_err err = RS_ERR_INIT;
    uint64_t deadline = rs_clock_mono_ns() + 60ull * 1000000000u;
    rs_store_stats st;
    while (rs_store_stats_get(s, &st, &err) == RS_OK && (st.n_running_compactions > 0 ||
                                                         st.pending_compaction_bytes > 0) &&
           rs_clock_mono_ns() < deadline)
        rs_clock_sleep_us(100000);
}

static uint64_t time_reads(struct bench *b, rs_store *s, uint64_t n, int at_latest)
{
    rs_err err = RS_ERR_INIT;
    uint64_t latest = rs_store_version_latest(s), t0 = rs_clock_mono_ns();
    for (uint64_t i = 0; i < n; i++) {
        rs_workload_key(&b->w, next_rand(b) % b->keys, b->key);
        rs_store_value v = {0};
        rs_code rc = at_latest ? rs_store_get_at(s, latest, b->key, b->w.key_size, &v, &err)
                               : rs_store_get(s, NULL, b->key, b->w.key_size, &v, &err);
        if (rc != RS_OK)
            die("read", &err);
        rs_store_value_release(&v);
    }
    return rs_clock_mono_ns() - t0;
}

static void read_ratio(struct bench *b)
{
    rs_store *plain = open_store(b, "plain-none", RS_STORE_SYNC_NONE, RS_STORE_PRUNE_NOTHING, 0, 0, 0);
    rs_store *ver = open_store(b, "versioned-none", RS_STORE_SYNC_NONE, RS_STORE_PRUNE_CUSTOM, 100, 0, 0);
    uint64_t t_plain = 0, t_ver = 0, t_at = 0, chunk = READS / 10;
    settle(plain);
    settle(ver);
    time_reads(b, plain, chunk, 0); /* warm both caches */
    time_reads(b, ver, chunk, 0);
    for (int i = 0; i < 10; i++) {
        uint64_t rng = b->rng;
        t_plain += time_reads(b, plain, chunk, 0);
        b->rng = rng;
        t_ver += time_reads(b, ver, chunk, 0);
        b->rng = rng;
        t_at += time_reads(b, ver, chunk, 1);
    }
    double rp = READS / secs(t_plain), rv = READS / secs(t_ver), ra = READS / secs(t_at);
    printf("latest read: plain get %8.0f reads/s, versioned latest (get) %8.0f reads/s, ratio %.2f; "
           "get_at(latest) %8.0f reads/s, ratio %.2f\n",
           rp, rv, rv / rp, ra, ra / rp);
    rs_store_close(plain);
    rs_store_close(ver);
}

/* ------------------------------------------------------------------ */
/* 3. disk use: keep-recent 100 vs an archive node                     */
/* ------------------------------------------------------------------ */

struct disk {
    uint64_t sst_bytes, dir_bytes;
};

static struct disk disk_use(rs_store *s)
{
    rs_err err = RS_ERR_INIT;
    rs_store_stats st;
    if (rs_store_stats_get(s, &st, &err) != RS_OK)
        die("stats", &err);
    struct disk d = {st.live_sst_bytes, 0};
    char archive[4096];
    uint64_t wal_archive = 0;
    snprintf(archive, sizeof archive, "%s/archive", rs_store_path(s));
    /* the WAL archive is kept for shipping (wal_keep_*), and RocksDB trims
     * it only every 10 minutes once a size limit is set: not ours to count */
    if (rs_fs_tree_bytes(rs_store_path(s), &d.dir_bytes, &err) != RS_OK ||
        rs_fs_tree_bytes(archive, &wal_archive, &err) != RS_OK)
        die("du", &err);
    d.dir_bytes -= wal_archive;
    return d;
}

/* Measured at rest: memtables flushed, RocksDB's compactions done (so both
 * points, and both stores, are measured in the same state of their LSM). */
static struct disk disk_at_rest(rs_store *s)
{
    rs_err err = RS_ERR_INIT;
    if (rs_store_flush(s, &err) != RS_OK)
        die("flush", &err);
    settle(s);
    return disk_use(s);
}

/* Measured on a checkpoint compacted in full, so that RocksDB's own space
 * amplification (stale versions in upper levels, the same with or without
 * versioned state) is out of the figure; the store goes on untouched. */
static struct disk disk_compacted(struct bench *b, rs_store *s)
{
    char cp[4096];
    snprintf(cp, sizeof cp, "%s/checkpoint", b->dir);
    rs_err err = RS_ERR_INIT;
    rs_store_config cfg = {.sync = RS_STORE_SYNC_NONE, .prune = {RS_STORE_PRUNE_NOTHING, 0, 0, 0}};
    rs_store *c = NULL;
    if (rs_store_checkpoint(s, cp, NULL, &err) != RS_OK || rs_store_open(cp, &cfg, &c, &err) != RS_OK ||
        rs_store_compact(c, &err) != RS_OK)
        die("compacted checkpoint", &err);
    struct disk d = disk_use(c);
    rs_store_close(c);
    if (rs_fs_remove_tree(cp, &err) != RS_OK)
        die("remove checkpoint", &err);
    return d;
}

struct disk_points {
    struct disk rest, compacted;
};

static void disk_point(struct bench *b, rs_store *s, struct disk_points *out)
{
    out->rest = disk_at_rest(s);
    out->compacted = disk_compacted(b, s);
}

static void print_disk(const char *name, const struct disk_points *at10, const struct disk_points *at100,
                       uint64_t blocks)
{
    const struct disk *p[2][2] = {{&at10->rest, &at100->rest}, {&at10->compacted, &at100->compacted}};
    for (int i = 0; i < 2; i++)
        printf("disk %-19s %-9s block %6" PRIu64 ": %7.1f MiB (sst %7.1f) | block %6" PRIu64
               ": %7.1f MiB (sst %7.1f) | growth x%.2f\n",
               name, i == 0 ? "at rest" : "compacted", blocks / 10, p[i][0]->dir_bytes / 1048576.0,
               p[i][0]->sst_bytes / 1048576.0, blocks, p[i][1]->dir_bytes / 1048576.0, p[i][1]->sst_bytes / 1048576.0,
               (double)p[i][1]->dir_bytes / (double)p[i][0]->dir_bytes);
}

/* n blocks of SMALL_BLOCK writes: committed as versions, or written as
 * plain batches (plain: the same data on a store without versions). */
static uint64_t small_blocks(struct bench *b, rs_store *s, rs_store_batch *batch, uint64_t n, int plain)
{
    rs_err err = RS_ERR_INIT;
    uint64_t t0 = rs_clock_mono_ns();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = plain ? b->serial++ : rs_store_version_latest(s) + 1;
        fill_block(b, batch, SMALL_BLOCK, v);
        rs_code rc = plain ? rs_store_write(s, batch, &err) : rs_store_commit(s, v, batch, &err);
        if (rc != RS_OK)
            die("write a small block", &err);
    }
    return rs_clock_mono_ns() - t0;
}

/* Three stores get the same blocks, in turns: keep-recent 100, an archive
 * node, and a plain store (no versions) whose figures are what RocksDB
 * itself does with the same writes. The archive and the plain store stay
 * open for part 4 (*plain). */
static rs_store *disk_flat(struct bench *b, rs_store **plain)
{
    static const char *const names[3] = {"keep-recent 100", "archive (nothing)", "plain (no versions)"};
    rs_store *s[3] = {
        open_store(b, "keep-recent-100", RS_STORE_SYNC_NONE, RS_STORE_PRUNE_CUSTOM, 100, 0, 1),
        open_store(b, "archive", RS_STORE_SYNC_NONE, RS_STORE_PRUNE_NOTHING, 0, 0, 1),
        open_store(b, "plain-small", RS_STORE_SYNC_NONE, RS_STORE_PRUNE_NOTHING, 0, 0, 1),
    };
    for (int i = 0; i < 3; i++)
        fill_keys(b, s[i], i < 2);
    rs_store_batch *batch = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_batch_create(&batch, &err) != RS_OK)
        die("batch", &err);
    struct disk_points at10[3], at100[3];
    uint64_t t[3] = {0}, step = b->blocks / 100;
    for (uint64_t done = 0; done < b->blocks; done += step) {
        uint64_t rng = b->rng, serial = b->serial;
        for (int i = 0; i < 3; i++) {
            b->rng = rng; /* the same blocks */
            b->serial = serial;
            t[i] += small_blocks(b, s[i], batch, step, i == 2);
        }
        for (int i = 0; done + step == b->blocks / 10 && i < 3; i++)
            disk_point(b, s[i], &at10[i]);
    }
    for (int i = 0; i < 3; i++) {
        disk_point(b, s[i], &at100[i]);
        print_disk(names[i], &at10[i], &at100[i], b->blocks);
    }
    printf("small blocks (%d writes, sync none): keep-recent 100 %.0f blocks/s, archive %.0f blocks/s, plain %.0f "
           "blocks/s\n",
           SMALL_BLOCK, b->blocks / secs(t[0]), b->blocks / secs(t[1]), b->blocks / secs(t[2]));
    rs_store_batch_destroy(batch);
    rs_store_close(s[0]);
    *plain = s[2];
    return s[1];
}

/* ------------------------------------------------------------------ */
/* 4. get_at at depth; 5. pruning throughput                           */
/* ------------------------------------------------------------------ */

static uint64_t time_depth(struct bench *b, rs_store *s, uint64_t version, int n)
{
    rs_err err = RS_ERR_INIT;
    uint64_t t0 = rs_clock_mono_ns();
    for (int i = 0; i < n; i++) {
        rs_workload_key(&b->w, next_rand(b) % b->keys, b->key);
        rs_store_value v = {0};
        rs_code rc = rs_store_get_at(s, version, b->key, b->w.key_size, &v, &err);
        if (rc != RS_OK && !(rc == RS_E_NOTFOUND && err.code == RS_OK))
            die("get_at", &err);
        rs_store_value_release(&v);
    }
    return rs_clock_mono_ns() - t0;
}

/* The depths take turns, after a warm-up of each, so no depth pays for a
 * cold cache or a busy minute alone. A depth the archive does not reach
 * (latest - depth would be before version 1: --blocks below it) is
 * skipped, and said so. */
static void read_depths(struct bench *b, rs_store *s, rs_store *plain_store)
{
    static const uint64_t depths[] = {0, 1, 100, 10000};
    enum { N_DEPTHS = sizeof depths / sizeof depths[0], ROUNDS = 10 };
    uint64_t latest = rs_store_version_latest(s), total[N_DEPTHS] = {0}, plain = 0;
    size_t n = 0;
    while (n < N_DEPTHS && depths[n] < latest)
        n++;
    settle(s);
    settle(plain_store);
    time_reads(b, plain_store, DEPTH_READS / ROUNDS, 0);
    for (size_t d = 0; d < n; d++)
        time_depth(b, s, latest - depths[d], DEPTH_READS / ROUNDS);
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t d = 0; d < n; d++)
            total[d] += time_depth(b, s, latest - depths[d], DEPTH_READS / ROUNDS);
        plain += time_reads(b, plain_store, DEPTH_READS / ROUNDS, 0);
    }
    double p = secs(plain) * 1e6 / DEPTH_READS;
    printf("get_at on the archive (%" PRIu64 " versions):", latest);
    for (size_t d = 0; d < n; d++)
        printf(" depth %" PRIu64 " %.2f us (x%.2f)", depths[d], secs(total[d]) * 1e6 / DEPTH_READS,
               secs(total[d]) * 1e6 / DEPTH_READS / p);
    printf(" | plain get (a plain store, the same data) %.2f us", p);
    for (size_t d = n; d < N_DEPTHS; d++)
        printf(" | depth %" PRIu64 " skipped: only %" PRIu64 " versions", depths[d], latest);
    printf("\n");
}

static void prune_once(rs_store *s, const char *what)
{
    rs_store_prune_result res;
    rs_err err = RS_ERR_INIT;
    if (rs_store_prune(s, &res, &err) != RS_OK)
        die("prune", &err);
    double t = secs(res.elapsed_ns);
    uint64_t pruned = res.earliest_after - res.earliest_before;
    printf("prune %-32s earliest %" PRIu64 " -> %" PRIu64 ": %.2f s, %.0f versions/s, %.0f history entries/s, "
           "%" PRIu64 " entries kept, %.1f MiB reclaimed\n",
           what, res.earliest_before, res.earliest_after, t, pruned / t, pruned * SMALL_BLOCK / t, res.kept_entries,
           res.reclaimed_bytes / 1048576.0);
}

static void prune_throughput(struct bench *b, rs_store **archive)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/archive", b->dir);
    rs_store_close(*archive);
    rs_store_config cfg = {.sync = RS_STORE_SYNC_NONE, .wal_keep_seconds = 1, .wal_keep_bytes = 1u << 20,
                           .prune = {RS_STORE_PRUNE_CUSTOM, b->blocks / 2, 0, 1u << 30}};
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(path, &cfg, archive, &err) != RS_OK)
        die("open", &err);
    prune_once(*archive, "to keep-recent N/2");
    rs_store_close(*archive);
    cfg.prune = (rs_store_prune_policy){RS_STORE_PRUNE_CUSTOM, 100, 1000, 1u << 30};
    if (rs_store_open(path, &cfg, archive, &err) != RS_OK)
        die("open", &err);
    prune_once(*archive, "to keep-recent 100, keep-every 1000");
}

/* ------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, struct bench *b)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0)
            b->dir = argv[i + 1];
        else if (strcmp(argv[i], "--blocks") == 0)
            b->blocks = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--keys") == 0)
            b->keys = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--key-bytes") == 0)
            b->w.key_size = (size_t)strtoull(argv[i + 1], NULL, 10);
        else
            return -1;
    }
    return argc % 2 == 1 && b->blocks >= 1000 && b->keys >= 1000 && b->w.key_size >= 8 && b->w.key_size <= KEY_MAX
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    struct bench b = {.blocks = 100000, .keys = 200000, .rng = 42,
                      .w = {.seed = 7, .key_size = KEY_BYTES, .value_size = VALUE_BYTES, .compressibility = 0.5}};
    char tmpl[] = "/tmp/bench-versioned-XXXXXX";
    if (parse_args(argc, argv, &b) != 0) {
        fprintf(stderr, "usage: bench_versioned [--dir DIR] [--blocks N>=1000] [--keys N>=1000] [--key-bytes 8..64]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int own_dir = b.dir == NULL;
    rs_err err = RS_ERR_INIT;
    if (own_dir && (b.dir = mkdtemp(tmpl)) == NULL) {
        perror("bench_versioned: mkdtemp");
        return 1;
    }
    if (!own_dir && rs_fs_mkdir_p(b.dir, 0755, &err) != RS_OK)
        die("--dir", &err);
    printf("bench_versioned: keys %zu B, values %d B, key space %" PRIu64 ", in %s\n", b.w.key_size, VALUE_BYTES,
           b.keys, b.dir);
    commit_ratio(&b, RS_STORE_SYNC_GROUP, "group");
    commit_ratio(&b, RS_STORE_SYNC_NONE, "none");
    read_ratio(&b);
    rs_store *plain = NULL;
    rs_store *archive = disk_flat(&b, &plain);
    read_depths(&b, archive, plain);
    rs_store_close(plain);
    prune_throughput(&b, &archive);
    rs_store_close(archive);
    if (own_dir && rs_fs_remove_tree(b.dir, &err) != RS_OK)
        fprintf(stderr, "bench_versioned: %s\n", err.msg);
    return 0;
}
