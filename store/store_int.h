/*
 * Private to store/: the rs_store struct and the helpers its files share.
 */
#ifndef RS_STORE_INT_H
#define RS_STORE_INT_H

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>

#include "store/store.h"

/* Column families the store opens, in this order. Append only: a family's
 * name is stored in the database. */
enum store_cf {
    STORE_CF_DEFAULT = 0, /* the user's keys */
    STORE_CF_META,        /* rockstream's own records (database id, ...) */
    STORE_CF__COUNT
};

extern const char *const store_cf_names[STORE_CF__COUNT];

/* Group commit (store_sync.c): the waiting writers take turns to fsync
 * the WAL for everyone; a thread does it for asynchronous requests. */
struct store_syncer {
    pthread_t          thread;        /* serves rs_store_sync_request */
    pthread_mutex_t    mu;
    pthread_cond_t     wake;          /* the thread has a request to serve */
    pthread_cond_t     turn[2];       /* waiters for fsync number g: turn[g % 2] */
    uint64_t           gen;           /* number of the running (or last) fsync */
    uint64_t           target;        /* the sequence it makes durable */
    uint64_t           synced;        /* every write up to here is durable */
    uint64_t           requested;     /* the highest sequence asked for without waiting */
    int                syncing;       /* a leader is in its fsync */
    int                next_waiting;  /* a writer waits for the fsync after it */
    uint64_t           last_start_ns; /* when the last fsync began */
    uint32_t           gap_us;        /* minimum time between two fsyncs */
    int                running;       /* set up: the policy is not NONE */
    int                stopping;
    _Atomic uint64_t   n_syncs;       /* WAL fsyncs, read without the lock */
    rs_err             failure;       /* sticky: after a failed fsync nothing is durable */
    rs_store_synced_fn listener;      /* told after each fsync (rs_store_sync_listen) */
    void              *listener_arg;
};

struct rs_store {
    char                         *path;
    rs_store_config               cfg;
    rocksdb_t                    *db;
    rocksdb_options_t            *opts;
    rocksdb_env_t                *mem_env;  /* in-memory backend, else NULL */
    rocksdb_cache_t              *cache;
    rocksdb_column_family_handle_t *cf[STORE_CF__COUNT];
    rocksdb_readoptions_t        *read_opts;
    rocksdb_writeoptions_t       *write_sync;
    rocksdb_writeoptions_t       *write_nosync;
    uint8_t                       id[16];
    struct store_syncer           syncer;
};

struct rs_store_batch {
    rocksdb_writebatch_t *wb;
};

struct rs_store_view {
    rs_store                 *store;
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t    *read_opts;
    uint64_t                  seq;
};

/* Builds RocksDB options for cfg (already resolved). The cache is created
 * here and returned through *cache (the caller destroys it after the
 * options); mem_env may be NULL. Used by the store and by the benchmark that
 * compares the store with raw RocksDB under the very same options. */
rocksdb_options_t *store_options_build(const rs_store_config *cfg, rocksdb_env_t *mem_env,
                                       rocksdb_cache_t **cache);

/* How rs_store_compact compacts: every file rewritten down to the bottom
 * level, so it gets the bottom's compression. The caller destroys it.
 * Shared with the benchmark's raw RocksDB, which must compact alike. */
rocksdb_compactoptions_t *store_compact_options_create(void);

/* The hint for a database that is not there. */
#define STORE_HINT_CREATE "check the path, or pass --create to make a new database"

/* Turns a RocksDB error string into an rs_err and frees it. what names the
 * operation ("open", "write"), path the database. Returns the code. */
rs_code store_err_from(rs_err *err, char *errptr, const char *what, const char *path);

/* Group commit (store_sync.c). Start and stop bracket the database's
 * life; wait returns once seq is durable or an fsync has failed. */
rs_code store_syncer_start(rs_store *store, rs_err *err);
void store_syncer_stop(rs_store *store);
rs_code store_syncer_wait(rs_store *store, uint64_t seq, rs_err *err);

/* Writes the batch with the options the policy asks for and waits for its
 * durability: the one write path every write goes through. */
rs_code store_write_raw(rs_store *store, rocksdb_writebatch_t *wb, rs_err *err);

#endif
