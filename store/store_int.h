/*
 * Private to store/: the rs_store struct and the helpers its files share.
 */
#ifndef RS_STORE_INT_H
#define RS_STORE_INT_H

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>

#include "store/store.h"

/* Column families the store opens, in this order. A family's name is
 * stored in the database: never rename one. Its RocksDB id is the order it
 * was created in, which differs between a new and a converted database, so
 * nothing but rs_meta (always id 1) is found by id. */
enum store_cf {
    STORE_CF_DEFAULT = 0, /* the user's keys, until a version is committed */
    STORE_CF_META,        /* rockstream's own records (database id, version markers) */
    STORE_CF_CHANGES,     /* versioned state: version -> the keys it wrote */
    STORE_CF_STATE,       /* versioned state: the user's keys, each version at
                             its height (a user-defined timestamp) */
    STORE_CF_KEPT,        /* versioned state: (key, version) -> the value a
                             version keep-every kept had, once pruned */
    STORE_CF_HISTORY,     /* layout 1's history: opened only to convert it
                             (store_migrate.c), then dropped */
    STORE_CF__COUNT
};

/* The families a database of this layout has; STORE_CF_HISTORY is not one
 * of them. */
#define STORE_CF_LIVE STORE_CF_HISTORY

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

/* Versioned state (store_version.c, store_history.c, store_floor.c,
 * store_prune.c, store_rollback.c). Locks, outermost first: round_mu (one
 * prune round at a time), write_mu (one writer of versioned state at a
 * time), floor_mu (the floor inputs; never held across I/O). */
struct store_count {
    uint64_t version;
    uint32_t n;
};

struct store_counts {            /* a small multiset of versions */
    struct store_count *items;
    size_t              n, cap;
};

struct store_pruner {
    pthread_t       thread;
    pthread_mutex_t mu;
    pthread_cond_t  wake;
    uint64_t        requested;     /* latest version a round was asked for */
    uint64_t        handled;       /* the request the last round served */
    int             running;
    int             stopping;
    pthread_mutex_t round_mu;      /* one round at a time (thread or rs_store_prune) */
    _Atomic uint64_t garbage_bytes; /* history made prunable since the last reclaim */
    uint64_t        kept_last;     /* round_mu: the largest kept version below earliest */
    atomic_int      kept_last_valid; /* cleared when another node's prune is applied */
    _Atomic uint64_t n_rounds, n_versions, n_kept_entries, n_compactions, reclaimed_bytes;
};

struct store_versions {
    pthread_mutex_t       write_mu;
    pthread_mutex_t       floor_mu;
    uint64_t              pending_earliest; /* readers are refused below (floor_mu) */
    struct store_counts   pins;             /* floor_mu */
    struct store_counts   readers;          /* floor_mu */
    struct store_counts   kept_readers;     /* floor_mu: earliest their snapshots saw */
    uint64_t              floor_written;    /* floor_mu: earliest as written */
    uint64_t              follower_version; /* floor_mu; valid if follower_set */
    int                   follower_set;
    _Atomic uint64_t      gc_floor;         /* floor_mu to raise: the state family's
                                               full_history_ts_low (RocksDB collects the
                                               versions below it, and refuses reads there) */
    rs_store_prune_policy policy;
    int                   seq_warned;
    atomic_int            versioned;        /* a version was committed: plain writes refused,
                                               the user's keys read from the state family */
    pthread_mutex_t       gc_mu;            /* one raise of full_history_ts_low at a time */
    uint64_t              gc_told;          /* gc_mu: the floor RocksDB was given last */
    int                   layout1;          /* opened read-only on layout 1: latest state
                                               in the default family, no reads at a version */
    int                   default_dirty;    /* write_mu: the default family holds keys the
                                               state family has taken over */
    struct store_pruner   pruner;
};

/* The commit path (store_commit.c). While chained, one mutex orders
 * every write, so the chain value follows the WAL's order exactly;
 * concurrent writers reach it in write groups (store_group.c), so they
 * share one RocksDB write, and under ALWAYS its fsync; the fsync a GROUP
 * write waits for happens outside it. Unchained, ALWAYS and GROUP writes
 * take the write groups too (without chain records); NONE writes go to
 * RocksDB directly and only count themselves in n_direct. */
enum store_chain_mode {
    STORE_CHAIN_OFF = 0,  /* unchained; chain holds a restart value */
    STORE_CHAIN_RESTART,  /* unchained, but chain is a link: the next write
                             (through the mutex) writes a restart first */
    STORE_CHAIN_ON,
};

struct store_wreq;
struct store_commit {
    pthread_mutex_t mu;          /* held across stamp, chain and write */
    uint8_t         chain[RS_STORE_CHAIN_BYTES]; /* after the newest chained write */
    uint64_t        chain_seq;   /* the sequence chain stands at */
    atomic_int      mode;        /* enum store_chain_mode; changed under mu */
    atomic_int      n_direct;    /* unchained writes inside RocksDB now */
    atomic_int      replica;     /* refuse writes of our own */
    pthread_mutex_t wake_mu;     /* waiters for new writes */
    pthread_cond_t  wake;
    atomic_int      n_waiters;   /* writers signal only when someone waits */
    pthread_mutex_t q_mu;        /* the write queue (store_group.c) */
    struct store_wreq *q_head, *q_tail;
    int             leading;     /* a writer is writing a group (q_mu) */
    int             ready;
};

/* The WAL archive's budget, enforced (store_walkeep.c). */
struct store_wal_file {          /* one WAL file, live or archived */
    uint64_t number;             /* RocksDB's name for it */
    uint64_t bytes;
    int64_t  mtime_s;
    uint64_t first_seq;          /* of its first batch; 0: not known (empty, unreadable) */
    int      archived;
};

struct store_wal_list {
    struct store_wal_file *items;
    size_t                 n, cap;
};

struct store_walkeep {
    pthread_t               thread;     /* "rs-wal-keep" */
    int                     started;    /* store_walkeep_start was called */
    int                     running;
    atomic_int              stopping;
    int                     stop_fd;    /* eventfd: wakes the thread to stop */
    int                     inotify_fd; /* the archive directory, or -1 */
    char                   *archive;    /* <db>/archive */
    pthread_mutex_t         mu;         /* the pins */
    int                     mu_ready;
    struct rs_store_wal_pin *pins;
    struct store_wal_list   last;       /* the previous pass's listing (thread only) */
    _Atomic uint64_t        n_removed;  /* archived files removed */
};

/* Column families another program made, adopted (store_adopt.c). */
struct store_foreign {
    size_t                          n;
    char                          **names;    /* n, malloc'd */
    rocksdb_options_t             **opts;     /* n, pointing into loaded_opts */
    rocksdb_column_family_handle_t **cf;      /* n, once open */
    rocksdb_options_t              *db_opts;  /* what rocksdb_load_latest_options */
    char                          **loaded_names; /* returned: every family's */
    rocksdb_options_t             **loaded_opts;
    size_t                          n_loaded;
};

/* Lists the families the database has that rockstream does not know and
 * loads the options each was last opened with, for a read-write open (none
 * for a new, read-only or in-memory database). RS_E_STORE when their
 * options cannot be read. */
rs_code store_foreign_load(rs_store *store, rs_err *err);
/* Destroys the adopted families' handles (before the database closes). */
void store_foreign_close(rs_store *store);
/* Frees the rest (after it closed). */
void store_foreign_release(rs_store *store);

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
    rocksdb_options_t            *state_opts;   /* opts + the timestamp comparator */
    rocksdb_comparator_t         *state_cmp;
    rocksdb_readoptions_t        *state_read_opts; /* the state family at the latest version */
    struct store_versions         v;
    struct store_commit           commit;
    struct store_foreign          foreign;
    uint32_t                      meta_cf_id; /* rs_meta's family id: 1 unless
                                                 the database was adopted with
                                                 families of its own */
    struct store_walkeep          walkeep;
};

struct rs_store_batch {
    rocksdb_writebatch_t *wb;
    int                   has_range_delete; /* a versioned commit cannot say what it removed */
};

struct rs_store_view {
    rs_store                 *store;
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t    *read_opts;
    rocksdb_readoptions_t    *state_read_opts; /* the same snapshot, the state family's latest */
    uint64_t                  seq;
};

/* Builds RocksDB options for cfg (already resolved). The cache is created
 * here and returned through *cache (the caller destroys it after the
 * options); mem_env may be NULL. Used by the store and by the benchmark that
 * compares the store with raw RocksDB under the very same options. */
rocksdb_options_t *store_options_build(const rs_store_config *cfg, rocksdb_env_t *mem_env,
                                       rocksdb_cache_t **cache);

/* A WAL TTL RocksDB never reaches (a century): it archives WAL files and
 * leaves them to the keeper. */
#define STORE_WAL_TTL_NEVER (100ull * 365 * 86400)

/* The WAL keeper (store_walkeep.c): start after the database opened (not
 * for a memory env or a read-only open, where it does nothing), stop before
 * it closes. */
rs_code store_walkeep_start(rs_store *store, rs_err *err);
void store_walkeep_stop(rs_store *store);

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
 * durability: the one write path every write goes through. It is the two
 * halves below: apply (the write itself; *seq_out is a sequence at or after
 * the batch's last) and wait (until that sequence is durable). A versioned
 * commit applies under its lock and waits outside it. */
rs_code store_write_raw(rs_store *store, rocksdb_writebatch_t *wb, rs_err *err);
rs_code store_write_apply(rs_store *store, rocksdb_writebatch_t *wb, uint64_t *seq_out, rs_err *err);
/* After store_write_apply: returns once seq is as durable as the policy says. */
rs_code store_write_wait(rs_store *store, uint64_t seq, rs_err *err);

/* Bytewise order of two keys, as RocksDB's default comparator. */
int store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* The head of what is sorted by key, then by a number (a write's place in
 * its batch, a version); store_keyed_cmp is its qsort comparator. */
struct store_keyed {
    const uint8_t *key;
    size_t         key_len;
    uint64_t       n;
};
int store_keyed_cmp(const void *a, const void *b);

/* A range's start, end and prefix narrowed to one [lower, upper) window of
 * keys; each bound is malloc'd (the caller frees) or NULL for none. -1 on
 * out of memory. */
int store_range_bounds(const rs_store_range *r, uint8_t **lower, size_t *lower_len, uint8_t **upper,
                       size_t *upper_len);

/* An iterator over the state family as of a tick (and snap), for reads
 * at a version; closed with rs_store_iter_close. */
rs_code store_iter_open_at(rs_store *store, const rocksdb_snapshot_t *snap, uint64_t tick,
                           const rs_store_range *range, rs_store_iter **out, rs_err *err);
/* Calls fn for each pair it yields, then closes it. */
rs_code store_iter_scan(rs_store_iter *it, rs_store_scan_fn fn, void *arg, rs_err *err);

/* ---- versioned state ------------------------------------------------ */

/* Layout 1 (store_migrate.c): opened for writing, a database that holds
 * it is converted before anything reads it; read-only it opens as it is,
 * and store_layout_refuse says, to a read at a version, how to convert it. */
rs_code store_migrate(rs_store *store, rs_err *err);
rs_code store_layout_refuse(rs_store *store, rs_err *err);

/* Versioned state's locks, set up before the database opens (cannot
 * fail), and torn down by store_versions_close. */
void store_versions_init(rs_store *store);
/* After the database opened: the floors from the versions record, the
 * policy, the pruner thread. */
rs_code store_versions_open(rs_store *store, rs_err *err);
void store_versions_close(rs_store *store);

/* Pruning (store_prune.c): the policy in effect, the pruner thread. */
rs_code store_prune_open(rs_store *store, rs_err *err);
void store_prune_close(rs_store *store);

/* ---- the state family (store_state.c) ------------------------------ */

/* A timestamp is the version, 8 bytes big-endian, so that versions order
 * as bytes. Changing it breaks every database. */
#define STORE_TS_BYTES 8

/* The state family's comparator: user keys bytewise, then versions newest
 * first. Its name is stored in the database. */
rocksdb_comparator_t *store_state_cmp_create(void);

/* Read options for the state family as of version (and snapshot, may be
 * NULL). ts is the caller's buffer, which must outlive ro: RocksDB keeps a
 * pointer to it. */
rocksdb_readoptions_t *store_state_read_opts(const rocksdb_snapshot_t *snap, uint64_t version,
                                             uint8_t ts[STORE_TS_BYTES]);

/* The same at the latest version (a timestamp that outlives every read). */
rocksdb_readoptions_t *store_state_latest_opts(const rocksdb_snapshot_t *snap);

/* Where a read of the user's keys goes: the default family until a version
 * is committed, the state family at its latest version after (then the
 * default family is empty, or holds keys the first commit adopted and the
 * next removes). With view, as of its snapshot. */
struct store_user_read {
    rocksdb_column_family_handle_t *cf;
    const rocksdb_readoptions_t    *ro;
};
void store_user_read(rs_store *store, const rs_store_view *view, struct store_user_read *out);

/* Sets an iterator's read options up for the user's keys (the state family
 * needs a read timestamp) and returns the family to iterate. */
rocksdb_column_family_handle_t *store_user_iter_cf(rs_store *store, rocksdb_readoptions_t *ro);

/* Adds a versioned write to wb: key at version, a put or (val NULL) a
 * delete. */
void store_state_write(rs_store *store, rocksdb_writebatch_t *wb, const uint8_t *key, size_t key_len,
                       uint64_t version, const uint8_t *val, size_t val_len);

/* On-disk records (store_vformat.c; specified in docs/format.md). */
#define STORE_DIGEST_BYTES 32

/* The layouts of versioned state: the versions record's format says
 * which one a database holds. */
#define STORE_LAYOUT_HISTORY 1   /* rs_history: the values versions overwrote */
#define STORE_LAYOUT_STATE 2     /* rs_state: every value at its version */

/* Ticks. The state family's timestamp of a version is its tick, not its
 * height: RocksDB requires a key's timestamps to grow with its sequence
 * numbers, and a rollback rewrites keys after later heights were written.
 * Every write of versioned state takes a tick above all before it: a
 * commit of version v takes v + delta, a rollback the tick after the
 * latest's, and the versions committed after it continue from there (a new
 * epoch, delta larger). So ticks order as versions over every live
 * version, equal them until the first rollback, and a version's tick is in
 * its record (and, for the current epoch, v + delta). */
struct store_vstate {            /* the "versions" record in rs_meta */
    uint8_t  format;             /* decoded: the layout that wrote it */
    uint8_t  kind;               /* RS_STORE_VERSION_COMMIT, ... */
    uint64_t latest;             /* 0: no version committed yet */
    uint64_t earliest;           /* lowest version of the readable range */
    uint64_t epoch_start;        /* versions >= it have tick version + delta */
    uint64_t delta;
};

struct store_vrecord {           /* one per readable or kept version */
    uint64_t commit_seq;
    uint32_t n_writes;
    uint64_t history_bytes;      /* bytes this version added to versioned state */
    uint8_t  digest[STORE_DIGEST_BYTES];
    uint64_t tick;               /* its timestamp in the state family */
};

extern const char STORE_META_VSTATE[];      /* key of the versions record */
extern const size_t STORE_META_VSTATE_LEN;
extern const char STORE_META_MIGRATE[];     /* key of a conversion's progress (store_migrate.c) */
extern const char STORE_META_POLICY[];      /* key of the recorded policy */
extern const size_t STORE_META_POLICY_LEN;

#define STORE_VSTATE_BYTES 34
#define STORE_VSTATE_V1_BYTES 18         /* layout 1's versions record */
#define STORE_VRECORD_KEY_BYTES 16
#define STORE_VRECORD_BYTES 61
#define STORE_VRECORD_V1_BYTES 53        /* layout 1's version record (no tick) */
#define STORE_POLICY_BYTES 26
#define STORE_HKEY_OVERHEAD 10           /* terminator + version */
#define STORE_HIST_PRESENT 0x01u         /* a kept entry's tag: the key had a value */

void store_put_be64(uint8_t *p, uint64_t v);
uint64_t store_get_be64(const uint8_t *p);
void store_vstate_encode(const struct store_vstate *st, uint8_t out[STORE_VSTATE_BYTES]);
int store_vstate_decode(const uint8_t *p, size_t len, struct store_vstate *st);
void store_vrecord_key(uint64_t version, uint8_t out[STORE_VRECORD_KEY_BYTES]);
void store_vrecord_encode(const struct store_vrecord *r, uint8_t out[STORE_VRECORD_BYTES]);
int store_vrecord_decode(const uint8_t *p, size_t len, uint64_t version, struct store_vrecord *r);
void store_policy_encode(const rs_store_prune_policy *p, uint8_t out[STORE_POLICY_BYTES]);
int store_policy_decode(const uint8_t *p, size_t len, rs_store_prune_policy *out);

/* Makes a scratch buffer (for keys) at least need bytes: 0, or -1 when
 * memory runs out (*p and *cap unchanged). */
int store_buf_grow(uint8_t **p, size_t *cap, size_t need);

/* History keys: the user key escaped so that order is kept and no key is a
 * prefix of another (0x00 -> 0x00 0xff, then 0x00 0x01), then the version
 * big-endian. hkey_max is the buffer size a key of key_len needs. */
size_t store_hkey_max(size_t key_len);
size_t store_hkey_encode(const uint8_t *key, size_t key_len, uint64_t version, uint8_t *out);
/* The escaped key alone (a scan bound: every history key of a user key >=
 * key sorts at or after it). */
size_t store_hkey_bound(const uint8_t *key, size_t key_len, uint8_t *out);
/* Splits a history key; returns -1 if it is not one. *ukey_len bytes of the
 * unescaped key are written to ukey (which needs hkey_len bytes). */
int store_hkey_decode(const uint8_t *hkey, size_t hkey_len, uint8_t *ukey, size_t *ukey_len, uint64_t *version);

/* Change lists: the sorted keys a version wrote, each as a LEB128 length
 * then the bytes. next() returns 1 and the next key, 0 at the end, -1 if
 * the list is corrupt. */
size_t store_varint_put(uint8_t *p, uint64_t v);
struct store_clist {
    const uint8_t *p, *end;
};
int store_clist_next(struct store_clist *c, const uint8_t **key, size_t *key_len);

/* Reads a small record of rs_meta into out (at most cap bytes; *len is its
 * real length, which the decoder checks). RS_E_NOTFOUND (err untouched) if
 * absent; what names the read in an error. */
rs_code store_meta_read(rs_store *store, const rocksdb_readoptions_t *ro, const uint8_t *key, size_t key_len,
                        uint8_t *out, size_t cap, size_t *len, const char *what, rs_err *err);
/* Reads rs_meta's versions record; absent: all zero. With ro (NULL: the
 * latest state), as of its snapshot. A record of layout 1 is refused
 * (store_layout_refuse); _any reads either layout's (st->format says). */
rs_code store_vstate_read(rs_store *store, const rocksdb_readoptions_t *ro, struct store_vstate *st, rs_err *err);
rs_code store_vstate_read_any(rs_store *store, const rocksdb_readoptions_t *ro, struct store_vstate *st,
                              rs_err *err);
/* Reads a version's record; RS_E_NOTFOUND (err untouched) if none. */
rs_code store_vrecord_read(rs_store *store, const rocksdb_readoptions_t *ro, uint64_t version,
                           struct store_vrecord *r, rs_err *err);
/* Calls fn for each version below earliest that has a record (those
 * keep-every kept), ascending; fn returns non-zero to stop. */
rs_code store_kept_scan(rs_store *store, uint64_t earliest, int (*fn)(void *arg, uint64_t version), void *arg,
                        rs_err *err);
/* The tick of a version at or below st's latest, as of ro (NULL: the
 * latest state): version + delta in the current epoch, else its record's.
 * RS_E_NOTFOUND (err untouched) if it has no record (pruned). */
rs_code store_version_tick(rs_store *store, const rocksdb_readoptions_t *ro, const struct store_vstate *st,
                           uint64_t version, uint64_t *tick, rs_err *err);
/* Adds the versions record to a batch (it must be the batch's first
 * record: rs_store_batch_version reads only that). */
void store_vstate_put(rocksdb_writebatch_t *wb, rs_store *store, const struct store_vstate *st);

/* Calls fn for each key in the change lists of versions first..last, in
 * version then key order. fn returns 0 to go on, 1 to stop, -1 to fail (it
 * has set err, or it ran out of memory). Keys are valid during the call. */
typedef int (*store_change_fn)(void *arg, uint64_t version, const uint8_t *key, size_t key_len);
rs_code store_changes_each(rs_store *store, uint64_t first, uint64_t last, store_change_fn fn, void *arg,
                           rs_err *err);

/* The readable-range error: "version 7 is pruned; readable versions are
 * [10, 50]" (what = "read", "rollback to", ...). */
rs_code store_version_refuse(rs_err *err, const char *what, uint64_t version, const struct store_vstate *st,
                             uint64_t pending_earliest);

/* The value of key as of version, given the versions record st
 * (store_history.c): at or above earliest, the state family's at the
 * version's tick; below (a version
 * keep-every kept), the kept family's entry for the first kept version at
 * or after it, else (the key has not changed since) the state's at
 * earliest. With snap, as of it. *kept_at (may be NULL) gets the version of
 * the kept entry read, 0 if none. RS_E_NOTFOUND (err untouched) if absent. */
rs_code store_get_as_of(rs_store *store, const rocksdb_snapshot_t *snap, const struct store_vstate *st,
                        uint64_t version, const uint8_t *key, size_t key_len, rs_store_value *val, uint64_t *kept_at,
                        rs_err *err);

/* Floor inputs (store_floor.c). A versioned reader registers the version it
 * reads for the duration of the read, so pruning cannot pass it; returns 0
 * (registered) or -1 when version is below what pruning has decided. */
int store_reader_enter(rs_store *store, uint64_t version);
void store_reader_leave(rs_store *store, uint64_t version);
/* Under floor_mu: the lowest version the floor inputs allow pruning up to,
 * given what the policy asks (target). */
uint64_t store_floor_locked(rs_store *store, uint64_t target);
/* A read of a version below earliest (kept by keep-every) holds garbage
 * collection at the earliest its snapshot saw: 1 held, 0 it already passed
 * it (take a new snapshot), -1 out of memory. */
int store_kept_reader_enter(rs_store *store, uint64_t snap_earliest);
void store_kept_reader_leave(rs_store *store, uint64_t snap_earliest);
/* After earliest is written (durably): raises the floor, and with it,
 * every few dozen versions, full_history_ts_low, so compactions collect
 * the versions below it. _apply gives RocksDB the floor now (before a
 * compaction that should collect all it can). */
void store_gc_floor_raise(rs_store *store, uint64_t written);
void store_gc_floor_apply(rs_store *store);
/* What pruning has decided (floor_mu taken inside). */
uint64_t store_pending_earliest(rs_store *store);

/* Asks the pruner for a round (a commit at an interval boundary). */
void store_pruner_kick(rs_store *store, uint64_t latest);
/* Fills the pruning fields of the statistics. */
void store_prune_stats(rs_store *store, rs_store_stats *out);

/* The commit path (store_commit.c): unchained under NONE, writes the
 * batch straight to RocksDB; otherwise through store_group_write. sync:
 * fsync the WAL inside the write (ALWAYS). *seq_out gets a sequence at or after the
 * batch's last. Refused on a replica. wb is not changed. */
rs_code store_commit_write(rs_store *store, rocksdb_writebatch_t *wb, int sync, uint64_t *seq_out, rs_err *err);
/* Write groups (store_group.c): queues the batch behind the writes in
 * progress; one writer at a time writes the queue's head, merged into one
 * batch (store_commit_batch), for everyone in it. */
rs_code store_group_write(rs_store *store, rocksdb_writebatch_t *wb, int sync, uint64_t *seq_out, rs_err *err);
/* Stamps and chains one batch (as the mode says: the next link, a restart,
 * or nothing), writes it under the commit mutex, wakes the WAL readers,
 * counts a synced write (store_commit.c). wb comes back unchanged. */
rs_code store_commit_batch(rs_store *store, rocksdb_writebatch_t *wb, int sync, uint64_t *seq_out, rs_err *err);
/* Adds a chain record holding chain to wb (as its last record). */
void store_chain_put(rs_store *store, rocksdb_writebatch_t *wb, const uint8_t chain[RS_STORE_CHAIN_BYTES]);
/* A fresh restart value: the prefix, then random bytes. */
void store_chain_restart_value(uint8_t out[RS_STORE_CHAIN_BYTES]);
/* Loads the chain value and prepares the mutexes; called once by open. */
rs_code store_commit_init(rs_store *store, rs_err *err);
void store_commit_release(rs_store *store);

/* One record of raw WriteBatch bytes (store_batchfmt.c): RocksDB's tag,
 * the family it names (0 if none), its key (a log-data record's blob) and
 * value, pointing into the batch. */
#define STORE_BATCH_TAG_CF_PUT 0x05   /* a put into a column family */
struct store_batch_rec {
    int            found;    /* 0: the batch holds no record */
    uint8_t        tag;
    uint32_t       cf;
    const uint8_t *key;
    uint32_t       key_len;
    int            has_value;
    const uint8_t *value;
    uint32_t       value_len;
    size_t         offset;   /* where the record starts in the batch */
};

/* Reads a batch's first record. RS_E_CORRUPT (err set) if the bytes are
 * shorter than the header, or the record is truncated or of an unknown
 * type. */
rs_code store_batch_first(const uint8_t *rep, size_t len, struct store_batch_rec *out, rs_err *err);

/* Wire facts of the records the commit path adds. Changing any of them
 * breaks every database, WAL and follower already written. */
#define STORE_BATCH_HEADER 12          /* sequence (8) + count (4) */
#define STORE_STAMP_MAGIC  "rsT1"      /* log data: magic + commit time (le64 ns) */
#define STORE_STAMP_BYTES  12
#define STORE_CHAIN_KEY    "chain"     /* in the meta family */
#define STORE_CHAIN_RESTART_PREFIX "rs-chain-restart" /* the first 16 bytes of a restart value */
#define STORE_CHAIN_RESTART_PREFIX_BYTES 16
#define STORE_META_CF_ID   1u          /* rs_meta is the first family made after default */

#endif
