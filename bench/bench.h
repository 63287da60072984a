/*
 * The store benchmark's pieces: a target is one way to reach a database
 * (rs_store on disk, rs_store in memory, raw RocksDB through its C API with
 * the very same options), behind one table of operations, so that every
 * row runs the same loop against each of them in the same process.
 */
#ifndef RS_BENCH_H
#define RS_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/workload.h"
#include "store/store.h"

/* ---- targets (bench_target_rs.c, bench_target_raw.c) --------------- */

/* How writes reach the disk. RAW has no group commit of its own: there,
 * GROUP means sync=true writes, which RocksDB's write group merges when
 * writers are concurrent. */
enum bench_sync { BENCH_SYNC_NONE, BENCH_SYNC_ALWAYS, BENCH_SYNC_GROUP };

struct bench_ops {
    /* each returns 0 on success, -1 on failure (the target prints why) */
    int (*put)(void *t, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen);
    /* 0 found, 1 missing, -1 failure; the value is read, then released */
    int (*get)(void *t, const uint8_t *k, size_t klen);
    void *(*batch_create)(void);
    void (*batch_put)(void *b, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen);
    void (*batch_clear)(void *b);
    void (*batch_destroy)(void *b);
    int (*batch_write)(void *t, void *b);
    /* reads every pair forward; adds what it saw to *pairs and *bytes */
    int (*scan)(void *t, uint64_t *pairs, uint64_t *bytes);
    /* flushes, waits for compactions, compacts everything: a quiet state */
    int (*settle)(void *t);
    uint64_t (*sst_bytes)(void *t);
    void (*close)(void *t);
};

struct bench_target {
    const char             *name;
    const struct bench_ops *ops;
    void                   *impl;
};

/* How an rs_store target is opened. */
enum {
    BENCH_RS_MEMORY = 1u << 0,  /* the memory backend */
    BENCH_RS_CHAINED = 1u << 1, /* chaining on (rs_store_set_chained), as a replicated primary */
};

/* Opens a fresh database at path through rs_store (flags: BENCH_RS_*) or
 * raw RocksDB, with the store's default options. Returns 0, or -1 after
 * printing why. */
int bench_rs_open(const char *path, unsigned flags, enum bench_sync sync, struct bench_target *out);
int bench_raw_open(const char *path, enum bench_sync sync, struct bench_target *out);

/* ---- measurements (bench_rows.c) ------------------------------------ */

struct bench_spec {
    rs_workload workload;
    uint64_t    n_keys;     /* keys in the database */
    uint64_t    ops;        /* operations per random row */
    uint64_t    first;      /* bench_fill: the first key index it writes */
    int         threads;    /* threads sharing the ops */
    int         batch;      /* pairs per batch */
    double      seconds;    /* time-bound rows run this long */
};

struct bench_result {
    double   per_sec;       /* operations (or MB for a scan) per second */
    uint64_t p50_ns, p99_ns, p999_ns;
    int      failed;
};

/* Writes keys [first, first + ops) in batches from one thread: the load. */
struct bench_result bench_fill(struct bench_target *t, const struct bench_spec *s);
/* Random single puts (overwrites) and random gets of existing keys. */
struct bench_result bench_random_puts(struct bench_target *t, const struct bench_spec *s);
struct bench_result bench_random_gets(struct bench_target *t, const struct bench_spec *s);
/* Batched overwrites of ops keys spread over the threads. */
struct bench_result bench_batched_puts(struct bench_target *t, const struct bench_spec *s);
/* A full forward scan; per_sec is MB (keys and values) per second. */
struct bench_result bench_scan(struct bench_target *t, const struct bench_spec *s);
/* Single puts of new keys for s->seconds from s->threads writers. */
struct bench_result bench_timed_puts(struct bench_target *t, const struct bench_spec *s);

#endif
