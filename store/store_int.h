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

/* The group-commit syncer: one thread that fsyncs the WAL on behalf of every
 * writer waiting for durability (store_sync.c). */
struct store_syncer {
    pthread_t       thread;
    pthread_mutex_t mu;
    pthread_cond_t  wake;       /* a writer asked for a sync */
    pthread_cond_t  done;       /* a sync finished */
    uint64_t        requested;  /* the highest sequence a writer waits for */
    uint64_t        synced;     /* every write up to here is durable */
    uint64_t        n_syncs;
    uint32_t        gap_us;     /* minimum time between two fsyncs */
    int             running;
    int             stopping;
    rs_err          failure;    /* sticky: after a failed fsync nothing is durable */
    rs_store_synced_fn listener; /* told after each fsync (rs_store_sync_listen) */
    void           *listener_arg;
};

/* The commit path (store_commit.c). One mutex orders every write, so the
 * chain value follows the WAL's order exactly; the fsync a write waits for
 * (group commit) happens outside it. */
struct store_commit {
    pthread_mutex_t mu;          /* held across stamp, chain and write */
    uint8_t         chain[RS_STORE_CHAIN_BYTES]; /* after the newest write */
    uint64_t        chain_seq;   /* the sequence chain stands at */
    atomic_int      replica;     /* refuse writes of our own */
    pthread_mutex_t wake_mu;     /* waiters for new writes */
    pthread_cond_t  wake;
    atomic_int      n_waiters;   /* writers signal only when someone waits */
    int             ready;
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
    struct store_commit           commit;
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

/* Turns a RocksDB error string into an rs_err and frees it. what names the
 * operation ("open", "write"), path the database. Returns the code. */
rs_code store_err_from(rs_err *err, char *errptr, const char *what, const char *path);

/* Group commit (store_sync.c). */
rs_code store_syncer_start(rs_store *store, rs_err *err);
void store_syncer_stop(rs_store *store);
rs_code store_syncer_wait(rs_store *store, uint64_t seq, rs_err *err);

/* Writes the batch with the options the policy asks for and waits for its
 * durability: the one write path every write goes through. */
rs_code store_write_raw(rs_store *store, rocksdb_writebatch_t *wb, rs_err *err);

/* The commit path (store_commit.c): stamps and chains the batch, writes it
 * with wopts under the commit mutex, wakes the WAL readers. *seq_out gets
 * the latest sequence after the write. Does not wait for an fsync. */
rs_code store_commit_write(rs_store *store, rocksdb_writebatch_t *wb, const rocksdb_writeoptions_t *wopts,
                           uint64_t *seq_out, rs_err *err);
/* Loads the chain value and prepares the mutexes; called once by open. */
rs_code store_commit_init(rs_store *store, rs_err *err);
void store_commit_release(rs_store *store);

/* Wire facts of the records the commit path adds. Changing any of them
 * breaks every database, WAL and follower already written. */
#define STORE_BATCH_HEADER 12          /* sequence (8) + count (4) */
#define STORE_STAMP_MAGIC  "rsT1"      /* log data: magic + commit time (le64 ns) */
#define STORE_STAMP_BYTES  12
#define STORE_CHAIN_KEY    "chain"     /* in the meta family */
#define STORE_META_CF_ID   1u          /* rs_meta is the first family made after default */

#endif
