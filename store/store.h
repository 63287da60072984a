/**
 * @file
 * store: the database. An rs_store is one RocksDB database opened with
 * rockstream's tuned options (or RocksDB's in-memory Env, for tests and
 * benchmarks). It offers point reads and writes, atomic batches, range scans,
 * consistent read views, the sequence number that is the clock of every flow
 * above it, checkpoints, and statistics. Every RocksDB error comes back as an
 * rs_err with a message a person can act on.
 *
 * Threads: an rs_store is safe to use from many threads at once. Batches,
 * iterators and values belong to one thread at a time.
 */
#ifndef RS_STORE_H
#define RS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/api.h"
#include "common/err.h"

/** An open database. Opaque; safe to use from many threads at once. */
typedef struct rs_store rs_store;
/** An atomic group of writes, built by one thread. Opaque. */
typedef struct rs_store_batch rs_store_batch;
/** A consistent read view at one sequence number. Opaque. */
typedef struct rs_store_view rs_store_view;
/** An iterator over a range of keys, used by one thread. Opaque. */
typedef struct rs_store_iter rs_store_iter;

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

/** When a write is durable. Every policy but NONE acknowledges a write
 * only after the WAL holding it has been fsync'd (docs/store.md has the
 * exact semantics). */
typedef enum rs_store_sync {
    RS_STORE_SYNC_DEFAULT = 0, /**< RS_STORE_SYNC_GROUP */
    RS_STORE_SYNC_ALWAYS,      /**< each write fsyncs the WAL before it becomes
                                    visible and before it returns */
    RS_STORE_SYNC_GROUP,       /**< writers share WAL fsyncs: a write is visible
                                    to readers at once and returns after an
                                    fsync that covers it; same durability, far
                                    higher throughput with concurrent writers */
    RS_STORE_SYNC_NONE,        /**< no fsync: a process crash loses nothing, a
                                    power loss can lose recent writes */
} rs_store_sync;

/** A compression algorithm for SST files. */
typedef enum rs_store_compression {
    RS_STORE_COMPRESSION_DEFAULT = 0, /**< the level's default */
    RS_STORE_COMPRESSION_NONE,        /**< none */
    RS_STORE_COMPRESSION_LZ4,         /**< LZ4: fast */
    RS_STORE_COMPRESSION_ZSTD,        /**< zstd: smaller */
} rs_store_compression;

/** A storage tier: a directory and how many bytes of SST files it should
 * hold. RocksDB fills tiers in order (db_paths), so the first, fast tier
 * holds the young upper levels and older data settles on later tiers. */
typedef struct rs_store_tier {
    const char *path;         /**< borrowed during rs_store_open only */
    uint64_t    target_bytes; /**< ignored for the last tier */
} rs_store_tier;

/** The most storage tiers a database can have. */
#define RS_STORE_MAX_TIERS 4

/** How much versioned history to keep (docs/versioned-state.md), after
 * Cosmos SDK's pruning options. */
typedef enum rs_store_prune_mode {
    RS_STORE_PRUNE_RECORDED = 0, /**< the policy the database recorded at its
                                      last prune; "nothing" if none */
    RS_STORE_PRUNE_NOTHING,      /**< archive node: keep every version */
    RS_STORE_PRUNE_EVERYTHING,   /**< keep the latest only (interval 10) */
    RS_STORE_PRUNE_DEFAULT,      /**< Cosmos SDK's default: keep-recent 362880,
                                      interval 10 */
    RS_STORE_PRUNE_CUSTOM,       /**< the three numbers of rs_store_prune_policy */
} rs_store_prune_mode;

/** A pruning policy. */
typedef struct rs_store_prune_policy {
    rs_store_prune_mode mode; /**< a preset, or CUSTOM for the numbers below */
    uint64_t keep_recent; /**< keep the latest version and this many before it */
    uint64_t keep_every;  /**< and every version that is a multiple of this,
                               forever (0: none) */
    uint64_t interval;    /**< prune when a committed version is a multiple of
                               this (>= 1) */
} rs_store_prune_policy;

/** How to open a database. Plain struct: zero means "use the default" for
 * every field. Defaults are documented in docs/store.md and applied by
 * rs_store_config_resolve(). */
typedef struct rs_store_config {
    int      create_if_missing;   /**< create the database if absent */
    int      in_memory;           /**< RocksDB's in-memory Env; path is a name;
                                       forces RS_STORE_SYNC_NONE */
    int      read_only;           /**< open without writing a byte (a checkpoint
                                       being sealed, a database another process
                                       serves); writes fail with RS_E_UNSUPPORTED */
    uint64_t block_cache_bytes;   /**< default 256 MiB */
    uint64_t write_buffer_bytes;  /**< per memtable, default 64 MiB */
    int      write_buffer_count;  /**< memtables, default 4 */
    int      bloom_bits_per_key;  /**< default 10; negative: no filter */
    rs_store_compression upper_compression;  /**< levels 2..n-2, default LZ4;
                                                  L0 and L1 are never compressed */
    rs_store_compression bottom_compression; /**< last level, default ZSTD */
    int      zstd_level;          /**< default 3 */
    rs_store_tier tiers[RS_STORE_MAX_TIERS]; /**< none: all files under path */
    size_t   n_tiers;             /**< tiers used */
    int      background_jobs;     /**< flushes + compactions, default the number of CPUs (>= 2) */
    rs_store_sync sync;           /**< default RS_STORE_SYNC_GROUP */
    uint32_t group_commit_us;     /**< GROUP: minimum microseconds between the
                                       starts of two fsyncs, so more writers
                                       join each; default 0 (back to back) */
    uint64_t wal_keep_seconds;    /**< keep archived WAL files this long for shipping,
                                       default 3600 (longer while a pin needs them) */
    uint64_t wal_keep_bytes;      /**< and at most this many bytes of WAL on disk,
                                       whatever pins, default 1 GiB */
    int      disable_statistics;  /**< turn off RocksDB statistics (cache hits...) */
    rs_store_prune_policy prune;  /**< versioned history; default: as recorded */
} rs_store_config;

/** Fills every zero field of cfg with its default. Idempotent.
 * @param cfg the configuration */
RS_API void rs_store_config_resolve(rs_store_config *cfg);

/** Parses a sync policy's name.
 * @param name "always", "group" or "none"
 * @param out  receives the policy on success
 * @return 0 on success, -1 for an unknown name */
RS_API int rs_store_sync_parse(const char *name, rs_store_sync *out);

/** A sync policy's name.
 * @param sync the policy
 * @return "always", "group", "none" (static text) */
RS_API const char *rs_store_sync_name(rs_store_sync sync);

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

/** Opens (or, with create_if_missing, creates) the database at path. A
 * database another program wrote is adopted as it is: column families
 * rockstream does not know are opened with the options recorded in the
 * database and kept (docs/migration.md).
 * @param path the database's directory (copied)
 * @param cfg  how to open it (copied); NULL for all defaults
 * @param out  receives the database, owned by the caller until
 *             rs_store_close
 * @param err  why it failed
 * @return RS_OK; RS_E_NOTFOUND (no database and no create), RS_E_BUSY
 *         (another process has it open), RS_E_CORRUPT, RS_E_IO (with
 *         sys_errno: EACCES, ENOSPC, ...), RS_E_INVALID (bad configuration) */
RS_API rs_code rs_store_open(const char *path, const rs_store_config *cfg, rs_store **out, rs_err *err);

/** Closes the database and frees everything. Writes, views and iterators
 * must be finished first.
 * @param store the database; NULL allowed */
RS_API void rs_store_close(rs_store *store);

/** The path given to rs_store_open.
 * @param store the database
 * @return the path, borrowed for the store's lifetime */
RS_API const char *rs_store_path(const rs_store *store);

/** The configuration in effect, with defaults resolved.
 * @param store the database
 * @return the configuration, borrowed for the store's lifetime */
RS_API const rs_store_config *rs_store_config_get(const rs_store *store);

/** The database's identity: 16 random bytes chosen when it was created
 * and kept in the data, so checkpoints and followers carry the same id.
 * @param store the database
 * @param out   receives the id (all zeros for a read-only database that
 *              plain RocksDB made) */
RS_API void rs_store_id(const rs_store *store, uint8_t out[16]);

/* ------------------------------------------------------------------ */
/* Reads                                                               */
/* ------------------------------------------------------------------ */

/** A value read from the store. */
typedef struct rs_store_value {
    const uint8_t *data; /**< the bytes, valid until rs_store_value_release */
    size_t         len;  /**< their length */
    void          *pin;  /**< private */
} rs_store_value;

/** Releases a value's memory.
 * @param val the value; NULL or an empty value allowed */
RS_API void rs_store_value_release(rs_store_value *val);

/** Reads a key.
 * @param store   the database
 * @param view    the view to read at; NULL: the latest state
 * @param key     the key's bytes
 * @param key_len their length
 * @param val     receives the value on RS_OK: release it
 * @param err     why it failed
 * @return RS_OK; RS_E_NOTFOUND when the key is absent (err untouched: a
 *         missing key is not a failure); RS_E_STORE, RS_E_CORRUPT, RS_E_IO */
RS_API rs_code rs_store_get(rs_store *store, const rs_store_view *view, const uint8_t *key, size_t key_len,
                            rs_store_value *val, rs_err *err);

/** Reads n keys in one call.
 * @param store    the database
 * @param view     the view to read at; NULL: the latest state
 * @param n        how many keys
 * @param keys     the keys' bytes
 * @param key_lens their lengths
 * @param vals     vals[i] receives key i's value when codes[i] is RS_OK:
 *                 release it
 * @param codes    codes[i] receives RS_OK, RS_E_NOTFOUND, or an error
 * @param err      holds the first per-key error
 * @return RS_OK unless the call itself failed */
RS_API rs_code rs_store_multi_get(rs_store *store, const rs_store_view *view, size_t n, const uint8_t *const *keys,
                                  const size_t *key_lens, rs_store_value *vals, rs_code *codes, rs_err *err);

/* ------------------------------------------------------------------ */
/* Writes                                                              */
/* ------------------------------------------------------------------ */

/** Sets a key; returns when the write is as durable as the sync policy
 * says.
 * @param store   the database
 * @param key     the key's bytes
 * @param key_len their length
 * @param val     the value's bytes
 * @param val_len their length
 * @param err     why it failed
 * @return RS_OK; RS_E_INVALID (a versioned database: write through
 *         rs_store_commit), RS_E_UNSUPPORTED (read-only, or a replica),
 *         RS_E_IO, RS_E_STORE */
RS_API rs_code rs_store_put(rs_store *store, const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                            rs_err *err);

/** Deletes a key (absent or not); returns when the write is as durable as
 * the sync policy says.
 * @param store   the database
 * @param key     the key's bytes
 * @param key_len their length
 * @param err     why it failed
 * @return as rs_store_put */
RS_API rs_code rs_store_delete(rs_store *store, const uint8_t *key, size_t key_len, rs_err *err);

/** Makes an empty batch.
 * @param out receives the batch, owned by the caller: destroy it
 * @param err why it failed
 * @return RS_OK; RS_E_NOMEM */
RS_API rs_code rs_store_batch_create(rs_store_batch **out, rs_err *err);

/** Frees a batch.
 * @param batch the batch; NULL allowed */
RS_API void rs_store_batch_destroy(rs_store_batch *batch);

/** Adds a put to a batch.
 * @param batch   the batch
 * @param key     the key's bytes (copied)
 * @param key_len their length
 * @param val     the value's bytes (copied)
 * @param val_len their length */
RS_API void rs_store_batch_put(rs_store_batch *batch, const uint8_t *key, size_t key_len, const uint8_t *val,
                               size_t val_len);

/** Adds a delete to a batch.
 * @param batch   the batch
 * @param key     the key's bytes (copied)
 * @param key_len their length */
RS_API void rs_store_batch_delete(rs_store_batch *batch, const uint8_t *key, size_t key_len);

/** Adds the deletion of every key in [start, end) to a batch.
 * @param batch     the batch
 * @param start     the first key deleted (copied)
 * @param start_len its length
 * @param end       the first key kept (copied)
 * @param end_len   its length */
RS_API void rs_store_batch_delete_range(rs_store_batch *batch, const uint8_t *start, size_t start_len,
                                        const uint8_t *end, size_t end_len);

/** The number of writes in a batch.
 * @param batch the batch
 * @return puts, deletes and range deletes added */
RS_API size_t rs_store_batch_count(const rs_store_batch *batch);

/** The size of a batch's encoding.
 * @param batch the batch
 * @return bytes */
RS_API size_t rs_store_batch_bytes(const rs_store_batch *batch);

/** Empties a batch for reuse.
 * @param batch the batch */
RS_API void rs_store_batch_clear(rs_store_batch *batch);

/** Applies a batch atomically; returns when it is as durable as the sync
 * policy says.
 * @param store the database
 * @param batch the batch: not changed, can be cleared and reused
 * @param err   why it failed
 * @return as rs_store_put */
RS_API rs_code rs_store_write(rs_store *store, rs_store_batch *batch, rs_err *err);

/** Applies a batch without waiting for its fsync. The caller must call
 * rs_store_sync_wait(seq) before it tells anyone the write is durable:
 * this is how an event loop acknowledges writes without blocking on disk.
 * @param store   the database
 * @param batch   the batch: not changed
 * @param seq_out receives a sequence number at or after the batch's last one
 * @param err     why it failed
 * @return as rs_store_put */
RS_API rs_code rs_store_write_nowait(rs_store *store, rs_store_batch *batch, uint64_t *seq_out, rs_err *err);

/** Returns once every write up to seq is as durable as the policy says.
 * @param store the database
 * @param seq   the sequence number
 * @param err   why it failed
 * @return RS_OK; the syncer's failure (RS_E_IO) once an fsync failed */
RS_API rs_code rs_store_sync_wait(rs_store *store, uint64_t seq, rs_err *err);

/** Told when rs_store_synced_seq has moved (see rs_store_sync_listen).
 * @param arg the listener's arg */
typedef void (*rs_store_synced_fn)(void *arg);

/** Asynchronous durability, for an event loop that must not block on
 * rs_store_sync_wait: it writes with rs_store_write_nowait, asks for the
 * sync with rs_store_sync_request, parks its replies, and is told by the
 * listener when rs_store_synced_seq has moved.
 *
 * The listener is called after every group fsync of the WAL (and after a
 * failed one), on whichever thread ran it (the syncer thread, or a writer
 * leading a group commit), with the syncer's lock held: it must only
 * signal (write to an eventfd, set an atomic) and never call into the
 * store. Holding the lock is what makes rs_store_sync_listen(store, NULL,
 * NULL) a barrier: once it returns, the old listener never runs again, so
 * its arg can be freed. One listener per store; a second call replaces the
 * first. Without a syncer (RS_STORE_SYNC_NONE, read-only) it is never
 * called.
 * @param store the database
 * @param fn    the listener; NULL: none
 * @param arg   passed to fn (borrowed until the listener is replaced) */
RS_API void rs_store_sync_listen(rs_store *store, rs_store_synced_fn fn, void *arg);

/** Asks the syncer to make every write up to seq durable and returns at
 * once. Cheap: many requests before one fsync share that fsync.
 * @param store the database
 * @param seq   the sequence number */
RS_API void rs_store_sync_request(rs_store *store, uint64_t seq);

/** How far writes are durable.
 * @param store   the database
 * @param seq_out receives a sequence number: every write up to it is as
 *                durable as the policy says; with RS_STORE_SYNC_NONE
 *                (nothing to wait for) UINT64_MAX
 * @param err     why it failed
 * @return RS_OK; the syncer's sticky failure (RS_E_IO...) once an fsync has
 *         failed: from then on no write becomes durable and *seq_out stops
 *         moving */
RS_API rs_code rs_store_synced_seq(rs_store *store, uint64_t *seq_out, rs_err *err);

/* ------------------------------------------------------------------ */
/* Views and scans                                                     */
/* ------------------------------------------------------------------ */

/** Opens a consistent read view: every read through it sees the database
 * as of one sequence number, whatever is written meanwhile. An open view
 * keeps old versions from being compacted away.
 * @param store the database
 * @param out   receives the view: close it before the store
 * @param err   why it failed
 * @return RS_OK; RS_E_NOMEM */
RS_API rs_code rs_store_view_open(rs_store *store, rs_store_view **out, rs_err *err);

/** The sequence number a view reads at.
 * @param view the view
 * @return its sequence number */
RS_API uint64_t rs_store_view_seq(const rs_store_view *view);

/** Closes a view.
 * @param view the view; NULL allowed */
RS_API void rs_store_view_close(rs_store_view *view);

/** Which keys a scan visits. Zero-initialised means every key, forward. */
typedef struct rs_store_range {
    const uint8_t *start;  /**< inclusive; NULL: the first key */
    size_t start_len;      /**< length of start */
    const uint8_t *end;    /**< exclusive; NULL: past the last key */
    size_t end_len;        /**< length of end */
    const uint8_t *prefix; /**< only keys starting with it; NULL: any */
    size_t prefix_len;     /**< length of prefix */
    uint64_t limit;        /**< at most this many pairs; 0: no limit */
    int      reverse;      /**< from the highest key down */
} rs_store_range;

/** Opens an iterator over a range.
 * @param store the database
 * @param view  the view to read at; NULL: the latest state
 * @param range which keys (copied, bytes and all); NULL: every key
 * @param out   receives the iterator: close it before the view and the store
 * @param err   why it failed
 * @return RS_OK; RS_E_NOMEM */
RS_API rs_code rs_store_iter_open(rs_store *store, const rs_store_view *view, const rs_store_range *range,
                                  rs_store_iter **out, rs_err *err);

/** Moves to the next pair.
 * @param it      the iterator
 * @param key     receives the key (valid until the next call)
 * @param key_len receives its length
 * @param val     receives the value (valid until the next call)
 * @param val_len receives its length
 * @return 1 with a pair; 0 at the end or on error: check
 *         rs_store_iter_status */
RS_API int rs_store_iter_next(rs_store_iter *it, const uint8_t **key, size_t *key_len, const uint8_t **val,
                              size_t *val_len);

/** Whether an iterator stopped on an error.
 * @param it  the iterator
 * @param err why it failed
 * @return RS_OK; RS_E_CORRUPT (a damaged block), RS_E_IO, RS_E_STORE */
RS_API rs_code rs_store_iter_status(const rs_store_iter *it, rs_err *err);

/** Closes an iterator.
 * @param it the iterator; NULL allowed */
RS_API void rs_store_iter_close(rs_store_iter *it);

/** Called by rs_store_scan for each pair.
 * @param arg     the scan's arg
 * @param key     the key (valid during the call)
 * @param key_len its length
 * @param val     the value (valid during the call)
 * @param val_len its length
 * @return 0 to go on, non-zero to stop */
typedef int (*rs_store_scan_fn)(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                                size_t val_len);

/** Calls fn for every pair in a range, in key order (or reversed).
 * @param store the database
 * @param view  the view to read at; NULL: the latest state
 * @param range which keys; NULL: every key
 * @param fn    called for each pair; returns non-zero to stop early
 * @param arg   passed to fn
 * @param err   why it failed
 * @return as rs_store_iter_status */
RS_API rs_code rs_store_scan(rs_store *store, const rs_store_view *view, const rs_store_range *range,
                             rs_store_scan_fn fn, void *arg, rs_err *err);

/* ------------------------------------------------------------------ */
/* Sequence, checkpoints, statistics                                   */
/* ------------------------------------------------------------------ */

/** The sequence number of the newest write.
 * @param store the database
 * @return the sequence number */
RS_API uint64_t rs_store_latest_seq(rs_store *store);

/** Creates a checkpoint: hard links to the live files, so it costs almost
 * nothing on the same filesystem.
 * @param store   the database
 * @param dir     where: must not exist; its parent must
 * @param seq_out receives the checkpoint's sequence number, read back by
 *                opening it; NULL allowed
 * @param err     why it failed
 * @return RS_OK; RS_E_EXISTS, RS_E_IO */
RS_API rs_code rs_store_checkpoint(rs_store *store, const char *dir, uint64_t *seq_out, rs_err *err);

/** Bytes of a content digest. */
#define RS_STORE_DIGEST_BYTES 32

/** What a content digest covered. */
typedef struct rs_store_digest_stats {
    uint64_t n_pairs;     /**< key-value pairs */
    uint64_t key_bytes;   /**< bytes of their keys */
    uint64_t value_bytes; /**< bytes of their values */
} rs_store_digest_stats;

/** The content digest (docs/format.md, "Content digest"): BLAKE2b-256 over
 * the domain string, then every (key, value) of the user's key space in
 * key order, each field prefixed by its length as 8 little-endian bytes,
 * then the pair count. rockstream's own records are not included. Equal
 * data gives equal digests whatever the files, compaction or the machine.
 * Safe while other threads write.
 * @param store the database
 * @param view  the view to read at; NULL: one implicit consistent view
 *              taken now
 * @param out   receives the digest
 * @param stats receives what it covered; NULL allowed
 * @param err   why it failed
 * @return as rs_store_scan */
RS_API rs_code rs_store_digest(rs_store *store, const rs_store_view *view, uint8_t out[RS_STORE_DIGEST_BYTES],
                               rs_store_digest_stats *stats, rs_err *err);

/** A database's statistics. */
typedef struct rs_store_stats {
    uint64_t latest_seq;              /**< the newest write's sequence number */
    uint64_t estimated_keys;          /**< RocksDB's estimate */
    uint64_t live_sst_bytes;          /**< SST files in use */
    uint64_t memtable_bytes;          /**< memtables, all families */
    uint64_t pending_compaction_bytes; /**< RocksDB's estimate of what compactions must rewrite */
    uint64_t block_cache_usage_bytes; /**< block cache in use */
    uint64_t block_cache_capacity_bytes; /**< block cache size */
    uint64_t block_cache_hits;        /**< 0 when statistics are disabled */
    uint64_t block_cache_misses;      /**< 0 when statistics are disabled */
    uint64_t n_running_compactions;   /**< compactions running now */
    uint64_t n_sst_files;             /**< SST files in use */
    uint64_t bytes_written;           /**< user bytes written since open */
    uint64_t wal_syncs;               /**< WAL fsyncs asked for since open (ALWAYS:
                                           one per write; RocksDB may merge
                                           those of concurrent writers) */
    uint64_t version_latest;          /**< versioned state: the latest version
                                           (this and the fields below are 0
                                           until a version is committed) */
    uint64_t version_earliest;        /**< lowest of the readable range */
    uint64_t history_sst_bytes;       /**< SST bytes of the versioned families
                                           (every readable version, the
                                           latest included) */
    uint64_t prune_rounds;            /**< pruning rounds finished since open */
    uint64_t prune_versions;          /**< versions pruned since open */
    uint64_t prune_kept_entries;      /**< values copied for keep-every */
    uint64_t prune_compactions;       /**< reclaiming compactions since open */
    uint64_t prune_reclaimed_bytes;   /**< SST bytes those compactions freed */
    uint64_t prune_pending_bytes;     /**< pruned versions not yet reclaimed
                                           (an estimate: compactions RocksDB
                                           runs by itself reclaim some) */
} rs_store_stats;

/** Reads a database's statistics.
 * @param store the database
 * @param out   receives them
 * @param err   why it failed
 * @return RS_OK */
RS_API rs_code rs_store_stats_get(rs_store *store, rs_store_stats *out, rs_err *err);

/** Asks RocksDB for a property.
 * @param store the database
 * @param name  "rocksdb.stats", "rocksdb.levelstats", ...
 * @return a malloc'd string the caller frees, or NULL if unknown */
RS_API char *rs_store_property(rs_store *store, const char *name);

/** Flushes memtables to SST files and waits.
 * @param store the database
 * @param err   why it failed
 * @return RS_OK; RS_E_IO, RS_E_STORE */
RS_API rs_code rs_store_flush(rs_store *store, rs_err *err);

/** Compacts the whole key space and waits (tests, benchmarks, ops): every
 * file is rewritten down to the last level, so it gets the bottom's
 * compression, and deleted or overwritten data no open view needs is
 * dropped.
 * @param store the database
 * @param err   why it failed
 * @return RS_OK; RS_E_IO, RS_E_STORE */
RS_API rs_code rs_store_compact(rs_store *store, rs_err *err);

/* ------------------------------------------------------------------ */
/* Versioned state (docs/versioned-state.md)                           */
/* ------------------------------------------------------------------ */
/*
 * A blockchain VM commits one block's write set per version (height). Each
 * value is kept at the version that wrote it (RocksDB's user-defined
 * timestamps), so any version not yet pruned can be read, and the state
 * rolled back to it; rs_store_get reads the latest. Versions start at 1; 0
 * means "nothing committed". A versioned database's keys are written only
 * through rs_store_commit (and rollback, pruning): a plain put would belong
 * to no version, so older versions would wrongly see it. So
 * once a version is committed, rs_store_put, rs_store_delete,
 * rs_store_write and rs_store_write_nowait fail with RS_E_INVALID
 * ("database '...' holds versioned state: write through rs_store_commit");
 * rockstream's own records (rs_store_meta_put) and a follower's
 * rs_store_apply_replicated still write.
 */

/** Applies a batch as a version: one atomic RocksDB write holding the
 * block's writes at the version, the list of keys, the versions record
 * (latest, earliest), the version's record (sequence, digest). Durable per
 * the sync policy on return. Commits are serialized: one runs at a time,
 * others wait. May wake the pruner.
 * @param store   the database
 * @param version the latest committed + 1 (1 for the first)
 * @param batch   the block's writes (borrowed, not changed)
 * @param err     why it failed
 * @return RS_OK; RS_E_INVALID (another version: the message names the
 *         expected one), RS_E_UNSUPPORTED (a range delete: no version
 *         can hold it; read-only; a replica), RS_E_IO, RS_E_STORE */
RS_API rs_code rs_store_commit(rs_store *store, uint64_t version, const rs_store_batch *batch, rs_err *err);

/** Whether the database has committed a version (read at open, set by a
 * commit, and by rs_store_version_reload on a follower): its plain writes
 * are refused. Cheap: no I/O.
 * @param store the database
 * @return non-zero once versioned */
RS_API int rs_store_is_versioned(rs_store *store);

/** The latest committed version, read from the database, so it is right
 * on a follower too.
 * @param store the database
 * @return the version; 0 when none is committed, and on a read error */
RS_API uint64_t rs_store_version_latest(rs_store *store);

/** The readable range [earliest, latest]. Versions below earliest kept by
 * keep-every are readable too.
 * @param store    the database
 * @param earliest receives the lowest readable version (0 when nothing is
 *                 committed)
 * @param latest   receives the latest (0 when nothing is committed)
 * @param err      why it failed
 * @return RS_OK; RS_E_STORE, RS_E_CORRUPT */
RS_API rs_code rs_store_version_range(rs_store *store, uint64_t *earliest, uint64_t *latest, rs_err *err);

/** A readable version's record. */
typedef struct rs_store_version_info {
    uint64_t version;        /**< the version */
    uint64_t commit_seq;     /**< the sequence number of its commit batch */
    uint32_t n_writes;       /**< distinct keys it wrote */
    uint64_t history_bytes;  /**< bytes it added to the versioned state */
    uint8_t  digest[32];     /**< BLAKE2b chain digest (docs/format.md) */
    int      kept;           /**< below earliest, kept by keep-every */
} rs_store_version_info;

/** Reads a readable version's record.
 * @param store   the database
 * @param version the version
 * @param out     receives the record
 * @param err     why it failed
 * @return RS_OK; RS_E_NOTFOUND (with the readable range in the message) for
 *         a pruned or future version */
RS_API rs_code rs_store_version_info_get(rs_store *store, uint64_t version, rs_store_version_info *out, rs_err *err);

/** Calls fn for each version below earliest kept by keep-every, ascending.
 * @param store the database
 * @param fn    called with arg and each version; returns non-zero to stop
 * @param arg   passed to fn
 * @param err   why it failed
 * @return RS_OK; RS_E_STORE, RS_E_CORRUPT */
RS_API rs_code rs_store_version_kept_scan(rs_store *store, int (*fn)(void *arg, uint64_t version), void *arg,
                                          rs_err *err);

/** Reads a key as of a version, which cannot be pruned while the read runs.
 * @param store   the database
 * @param version the version
 * @param key     the key's bytes
 * @param key_len their length
 * @param val     receives the value on RS_OK: release it
 * @param err     why it failed
 * @return RS_OK; RS_E_NOTFOUND with err untouched when the key was absent
 *         at that version, with err set (and the readable range in the
 *         message) for a pruned or future version */
RS_API rs_code rs_store_get_at(rs_store *store, uint64_t version, const uint8_t *key, size_t key_len,
                               rs_store_value *val, rs_err *err);

/** Calls fn for every pair in a range as of a version, in key order (or
 * reversed), from one consistent view; the version cannot be pruned until
 * it returns.
 * @param store   the database
 * @param version the version
 * @param range   which keys; NULL: every key
 * @param fn      called for each pair; returns non-zero to stop early
 * @param arg     passed to fn
 * @param err     why it failed
 * @return as rs_store_get_at */
RS_API rs_code rs_store_scan_at(rs_store *store, uint64_t version, const rs_store_range *range, rs_store_scan_fn fn,
                                void *arg, rs_err *err);

/** Restores the state as of a version in one atomic write, in place (the
 * database stays open and readable), and forgets the versions after it
 * (for a chain reorganisation); the next commit is to_version + 1. Durable
 * per the sync policy on return.
 * @param store      the database
 * @param to_version readable and at or above earliest; latest does nothing
 * @param err        why it failed
 * @return RS_OK; RS_E_NOTFOUND (with the range) for another version */
RS_API rs_code rs_store_rollback(rs_store *store, uint64_t to_version, rs_err *err);

/** Holds a version against pruning until the matching unpin (a snapshot or
 * an export in progress). Pins nest and live in memory only: they end
 * with the process.
 * @param store   the database
 * @param version the version
 * @param err     why it failed
 * @return RS_OK; RS_E_NOTFOUND if the version is not readable (or being
 *         pruned) */
RS_API rs_code rs_store_pin(rs_store *store, uint64_t version, rs_err *err);

/** Ends one rs_store_pin of a version.
 * @param store   the database
 * @param version the version */
RS_API void rs_store_unpin(rs_store *store, uint64_t version);

/** The replication layer reports the applied version of its slowest
 * connected follower; pruning never passes it, so every follower keeps a
 * readable version.
 * @param store   the database
 * @param version the slowest follower's applied version */
RS_API void rs_store_follower_version_set(rs_store *store, uint64_t version);

/** Clears what rs_store_follower_version_set reported: no follower is
 * connected (or the slowest was dropped for a resync).
 * @param store the database */
RS_API void rs_store_follower_version_clear(rs_store *store);

/** Parses a pruning preset's name.
 * @param name "nothing", "everything", "default" or "custom"
 * @param out  receives the mode on success
 * @return 0 on success, -1 for an unknown name */
RS_API int rs_store_prune_mode_parse(const char *name, rs_store_prune_mode *out);

/** A pruning mode's name.
 * @param mode the mode
 * @return its name (static text) */
RS_API const char *rs_store_prune_mode_name(rs_store_prune_mode mode);

/** Checks a policy (custom: interval >= 1).
 * @param policy the policy
 * @param err    says why it is refused
 * @return RS_OK; RS_E_INVALID */
RS_API rs_code rs_store_prune_policy_check(const rs_store_prune_policy *policy, rs_err *err);

/** The policy in effect, with presets spelled out.
 * @param store the database
 * @param out   receives the policy */
RS_API void rs_store_prune_policy_get(rs_store *store, rs_store_prune_policy *out);

/** What a prune did. */
typedef struct rs_store_prune_result {
    uint64_t earliest_before;  /**< the readable range's lowest version before */
    uint64_t earliest_after;   /**< ... and after */
    uint64_t versions_pruned;  /**< readable versions removed */
    uint64_t kept_entries;     /**< values copied for keep-every */
    uint64_t reclaimed_bytes;  /**< SST bytes the reclaiming compaction freed */
    uint64_t elapsed_ns;       /**< how long it took */
} rs_store_prune_result;

/** Prunes now, as far as the policy and the floor allow (whatever the
 * interval), then compacts the versioned state so the space comes back, and
 * records the policy. Waits. The policy "nothing" prunes nothing.
 * @param store the database
 * @param out   receives what it did; NULL allowed
 * @param err   why it failed
 * @return RS_OK; RS_E_UNSUPPORTED (read-only), RS_E_IO, RS_E_STORE */
RS_API rs_code rs_store_prune(rs_store *store, rs_store_prune_result *out, rs_err *err);

/* ---- for snapshots, WAL frames and followers ------------------------- */

/** The version a database at a sequence number holds.
 * @param store      the database
 * @param seq        the sequence number
 * @param version    receives the highest version whose commit batch is at
 *                   or before seq
 * @param commit_seq receives that batch's sequence number
 * @param err        why it failed
 * @return RS_OK; RS_E_NOTFOUND if seq is before the readable range's first
 *         commit */
RS_API rs_code rs_store_version_at_seq(rs_store *store, uint64_t seq, uint64_t *version, uint64_t *commit_seq,
                                       rs_err *err);

/** What a batch does to the versioned state. */
typedef enum rs_store_version_kind {
    RS_STORE_VERSION_COMMIT = 1, /**< the batch commits version latest */
    RS_STORE_VERSION_ROLLBACK,   /**< the batch rolls back to latest */
    RS_STORE_VERSION_PRUNE,      /**< the batch moves earliest */
} rs_store_version_kind;

/** A batch's change to the versioned state. */
typedef struct rs_store_version_mark {
    rs_store_version_kind kind; /**< what the batch does */
    uint64_t latest;   /**< the version the database holds after the batch */
    uint64_t earliest; /**< the readable range's lowest version after it */
} rs_store_version_mark;

/** Tells whether a raw write batch changes the versioned state and how.
 * Every batch that changes the versions record carries it as its first
 * record, so this reads a few bytes and never the rest.
 * @param store the database the batch belongs to
 * @param data  the batch as read from the WAL: RocksDB's WriteBatch bytes
 * @param len   their length
 * @param out   receives the change on RS_OK
 * @param err   why it failed
 * @return RS_OK; RS_E_NOTFOUND (err untouched) for any other batch;
 *         RS_E_CORRUPT if data is too short to be a batch */
RS_API rs_code rs_store_batch_version(rs_store *store, const uint8_t *data, size_t len, rs_store_version_mark *out,
                                      rs_err *err);

/** A follower applies the primary's batches below this API; afterwards it
 * calls this so the store's in-memory view of the versioned state (what
 * pruning has decided, what compactions may drop) catches up. Safe at any
 * time; cheap.
 * @param store the database
 * @param err   why it failed
 * @return RS_OK; RS_E_STORE, RS_E_CORRUPT */
RS_API rs_code rs_store_version_reload(rs_store *store, rs_err *err);

/* ------------------------------------------------------------------ */
/* Replication support (store_commit.c, store_wal.c, store_batchfmt.c, */
/* store_meta.c): what wal/ needs from the database                    */
/* ------------------------------------------------------------------ */

/** Bytes of a chain value.
 *
 * Every batch the store writes carries a log-data stamp with its
 * wall-clock commit time, appended after the caller's records (log data
 * consumes no sequence number). While the database is chained (a primary
 * that serves followers: rs_store_set_chained), each batch also ends with
 * the chain record, a put of the database's chain value into rockstream's
 * meta family:
 *
 *     chain(n) = BLAKE2b-256(chain(n-1) || records of batch n before it)
 *
 * Because the chain is a put inside the batch, a follower that applies the
 * batch byte for byte stores the same value at the same sequence number:
 * its chain is kept with its data, in every checkpoint, with no write of
 * its own. docs/replication.md says why this and not a side file. */
#define RS_STORE_CHAIN_BYTES 32

/** Turns chaining on or off. Off (the default), writes go to RocksDB
 * directly, with no lock of ours and no chain record: concurrent writers
 * run RocksDB's own concurrent memtable inserts and write groups, and a
 * batch of k operations takes k sequence numbers, as in raw RocksDB. On,
 * every write is chained and written under one commit mutex, in write
 * groups (so the chain follows the WAL's order): k + 1 sequence numbers per
 * batch, and one RocksDB write at a time. wal/ turns it on before a primary
 * serves its first follower (rs_wal_primary_start) and when a follower is
 * promoted; nothing turns it off but this call.
 *
 * The first batch written unchained after chained ones carries a chain
 * *restart* instead of the next chain value (so it takes k + 1), as does
 * the batch that records a new database's id: a chain record whose value
 * is a fixed 16-byte prefix and 16 random bytes (docs/format.md). Two
 * databases that wrote unchained then never share a chain value, and a
 * follower never takes an unchained stretch for its own: a primary
 * resyncs a follower whose next batch is unchained or a restart, and
 * rs_store_apply_replicated refuses both (RS_E_GAP).
 *
 * Turning it on waits for the unchained writes in progress to finish (so
 * every batch after the call is chained) and writes nothing. Safe to call
 * from any thread.
 * @param store the database
 * @param on    non-zero to chain */
RS_API void rs_store_set_chained(rs_store *store, int on);

/** Whether the database is chained.
 * @param store the database
 * @return non-zero when chained */
RS_API int rs_store_is_chained(rs_store *store);

/** Whether a chain value is a restart (see rs_store_set_chained), not a
 * chain's link.
 * @param chain the value
 * @return non-zero for a restart */
RS_API int rs_store_chain_is_restart(const uint8_t chain[RS_STORE_CHAIN_BYTES]);

/** What a raw write batch holds, read by rs_store_batch_inspect. */
typedef struct rs_store_batch_info {
    uint64_t first_seq;      /**< the header's sequence number */
    uint32_t count;          /**< sequence numbers the batch consumes */
    uint64_t commit_time_ns; /**< the commit stamp, 0 if the batch has none */
    int      has_chain;      /**< the last record is a chain record */
    int      chain_restart;  /**< ... and its value is a restart: the batch was
                                  written unchained */
    uint8_t  chain[RS_STORE_CHAIN_BYTES]; /**< the chain value after the batch */
    size_t   chain_offset;   /**< where the chain record starts */
} rs_store_batch_info;

/** Parses raw WriteBatch bytes (a WAL record, a replicated payload).
 * @param store the database the batch belongs to, which says where its
 *              chain records go; NULL for a database rockstream created
 *              (family 1), as in tests and fuzzing
 * @param rep   the bytes
 * @param len   their length
 * @param out   receives what the batch holds
 * @param err   why it failed
 * @return RS_OK; RS_E_CORRUPT (truncated record, unknown record type,
 *         header count that does not match the records) */
RS_API rs_code rs_store_batch_inspect(const rs_store *store, const uint8_t *rep, size_t len, rs_store_batch_info *out,
                                      rs_err *err);

/** The chain value after the newest write, and a sequence it stands at,
 * read together.
 * @param store the database
 * @param seq   receives the latest sequence, or, while chained writes
 *              run, the one after the newest of them
 * @param chain receives the value: all zeros in a database made before
 *              chain restarts that has no chained write yet */
RS_API void rs_store_chain(rs_store *store, uint64_t *seq, uint8_t chain[RS_STORE_CHAIN_BYTES]);

/** Waits until the latest sequence exceeds seq. No polling: writers wake
 * the waiters.
 * @param store      the database
 * @param seq        the sequence to pass
 * @param timeout_ms how long at most
 * @return the latest sequence */
RS_API uint64_t rs_store_wait_for_write(rs_store *store, uint64_t seq, uint64_t timeout_ms);

/** A follower's database: while on, every write but
 * rs_store_apply_replicated fails with RS_E_UNSUPPORTED, so the database
 * never holds a batch of its own and its sequence numbers stay the
 * primary's. Safe to call from any thread.
 * @param store the database
 * @param on    non-zero for a replica */
RS_API void rs_store_set_replica(rs_store *store, int on);

/** Whether the database is a replica.
 * @param store the database
 * @return non-zero for a replica */
RS_API int rs_store_is_replica(rs_store *store);

/** Applies a batch a primary wrote, given as the raw bytes its WAL holds,
 * without adding a stamp or a chain record (it has both). Checks first,
 * and writes nothing if a check fails:
 *  - first_seq (and the header's) is exactly the latest sequence + 1,
 *    else RS_E_GAP;
 *  - the batch parses and ends with a chain record, else RS_E_GAP (its
 *    primary wrote it unchained: nothing proves it continues our data);
 *    a chain restart is RS_E_GAP too;
 *  - the chain record equals BLAKE2b(this database's chain || the batch's
 *    records), else RS_E_CORRUPT with "diverged" in the message.
 * The write is not fsync'd: call rs_store_sync_wait for durability.
 * @param store     the database
 * @param first_seq the batch's first sequence number
 * @param rep       the batch's bytes
 * @param len       their length
 * @param err       why it failed
 * @return RS_OK; RS_E_GAP, RS_E_CORRUPT, RS_E_IO, RS_E_STORE */
RS_API rs_code rs_store_apply_replicated(rs_store *store, uint64_t first_seq, const uint8_t *rep, size_t len,
                                         rs_err *err);

/** Reads the committed batches from a sequence number on, from the live
 * and archived WAL files. One reader per thread. Opaque. */
typedef struct rs_store_wal_iter rs_store_wal_iter;

/** Opens a WAL reader.
 * @param store    the database
 * @param from_seq the first batch returned starts exactly there
 * @param out      receives the reader: close it
 * @param err      why it failed
 * @return RS_OK; RS_E_GAP (the WAL no longer holds from_seq), RS_E_STORE */
RS_API rs_code rs_store_wal_iter_open(rs_store *store, uint64_t from_seq, rs_store_wal_iter **out, rs_err *err);

/** Reads the next batch.
 * @param it        the reader
 * @param first_seq receives the batch's first sequence number
 * @param rep       receives its raw bytes, valid until the next call or close
 * @param len       receives their length
 * @param err       why it failed
 * @return RS_OK; RS_E_NOTFOUND when no newer batch is committed yet (err
 *         untouched: wait with rs_store_wait_for_write and call again);
 *         RS_E_GAP when the WAL no longer holds the next batch (RocksDB
 *         would silently skip ahead: this reader refuses to);
 *         RS_E_CORRUPT when the position falls inside a batch (a reader
 *         there holds other batches than this database); or an
 *         RS_E_STORE/RS_E_IO failure */
RS_API rs_code rs_store_wal_iter_next(rs_store_wal_iter *it, uint64_t *first_seq, const uint8_t **rep, size_t *len,
                                      rs_err *err);

/** The sequence the next batch must start at.
 * @param it the reader
 * @return the sequence */
RS_API uint64_t rs_store_wal_iter_position(const rs_store_wal_iter *it);

/**
 * @brief A consumer's hold on the WAL: the oldest sequence it still needs.
 *
 * The store keeps archived WAL files within the budget, enforcing it itself
 * on a thread of its own ("rs-wal-keep") each time RocksDB archives a file
 * and once a second: oldest first, a file is removed when the WAL on disk
 * is over wal_keep_bytes (whatever any pin says: the disk bound), or when it is
 * older than wal_keep_seconds and no pin needs it. A pin needs the files
 * that may hold sequences at or after its own. A consumer past the byte
 * budget loses its files and finds a gap (rs_store_wal_iter_next says so).
 * In memory or read-only, nothing is archived and a pin holds nothing.
 */
typedef struct rs_store_wal_pin rs_store_wal_pin;

/**
 * @brief Pins the WAL from seq on.
 * @param store the database; must outlive the pin
 * @param seq the oldest sequence the consumer needs
 * @param out the pin, removed with rs_store_wal_pin_remove
 * @param err filled on failure
 * @return RS_OK, or RS_E_NOMEM
 */
RS_API rs_code rs_store_wal_pin_add(rs_store *store, uint64_t seq, rs_store_wal_pin **out, rs_err *err);

/**
 * @brief Moves a pin forward (never back): the consumer no longer needs
 * what is before seq. Safe from any thread, lock-free.
 * @param pin the pin (NULL: nothing)
 * @param seq the oldest sequence still needed
 */
RS_API void rs_store_wal_pin_move(rs_store_wal_pin *pin, uint64_t seq);

/**
 * @brief The sequence a pin holds.
 * @param pin the pin
 * @return its sequence
 */
RS_API uint64_t rs_store_wal_pin_seq(const rs_store_wal_pin *pin);

/**
 * @brief Releases a pin and frees it.
 * @param pin the pin (NULL allowed)
 */
RS_API void rs_store_wal_pin_remove(rs_store_wal_pin *pin);

/** Closes a WAL reader.
 * @param it the reader; NULL allowed */
RS_API void rs_store_wal_iter_close(rs_store_wal_iter *it);

/** Bytes of WAL on disk (live and archived files): what the retention
 * budget (wal_keep_bytes) is measured against.
 * @param store the database
 * @param out   receives the bytes
 * @param err   why it failed
 * @return RS_OK; RS_E_IO */
RS_API rs_code rs_store_wal_disk_bytes(rs_store *store, uint64_t *out, rs_err *err);

/** Reads one of rockstream's own small records in the meta family.
 * @param store the database
 * @param name  the record's name: not a store-internal name ("db_id",
 *              "chain")
 * @param val   receives the value on RS_OK: release it
 * @param err   why it failed
 * @return RS_OK; RS_E_NOTFOUND (err untouched) if absent; RS_E_INVALID (an
 *         internal name) */
RS_API rs_code rs_store_meta_get(rs_store *store, const char *name, rs_store_value *val, rs_err *err);

/** Writes one of rockstream's own small records in the meta family,
 * through the commit path (so it replicates).
 * @param store the database
 * @param name  the record's name: not a store-internal name
 * @param val   the value's bytes
 * @param len   their length
 * @param err   why it failed
 * @return RS_OK; RS_E_INVALID (an internal name), and rs_store_put's
 *         errors */
RS_API rs_code rs_store_meta_put(rs_store *store, const char *name, const uint8_t *val, size_t len, rs_err *err);

#endif
