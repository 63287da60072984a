/*
 * The commit path every write takes. Chained (a primary that serves
 * followers), a batch is stamped with its commit time, the chain record is
 * appended and the batch written under one mutex, so the chain follows the
 * WAL's order; concurrent writers reach it in write groups (store_group.c).
 * Unchained (the default), a write that waits for an fsync (ALWAYS, GROUP)
 * takes the write groups too, without a chain record, and a write under
 * NONE is stamped and written straight to RocksDB, which runs concurrent
 * writers side by side. Either way the WAL readers are woken.
 * A follower's batches come in through rs_store_apply_replicated instead,
 * already stamped and chained by their primary; it checks position and
 * chain before writing.
 */
#include <sodium.h>
#include <string.h>

#include "common/clock.h"
#include "common/endian.h"
#include "common/log.h"
#include "store/store_int.h"

/* How often rs_store_set_chained looks whether the unchained writes in
 * progress have finished (once per switch: a write takes microseconds). */
#define DRAIN_POLL_US 20u

/* chain(n) = BLAKE2b-256(chain(n-1) || records), records being the batch
 * bytes after its header and before its chain record. */
static void chain_step(const uint8_t prev[RS_STORE_CHAIN_BYTES], const uint8_t *records, size_t len,
                       uint8_t next[RS_STORE_CHAIN_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, RS_STORE_CHAIN_BYTES);
    crypto_generichash_update(&st, prev, RS_STORE_CHAIN_BYTES);
    crypto_generichash_update(&st, records, len);
    crypto_generichash_final(&st, next, RS_STORE_CHAIN_BYTES);
}

int rs_store_chain_is_restart(const uint8_t chain[RS_STORE_CHAIN_BYTES])
{
    return memcmp(chain, STORE_CHAIN_RESTART_PREFIX, STORE_CHAIN_RESTART_PREFIX_BYTES) == 0;
}

void store_chain_restart_value(uint8_t out[RS_STORE_CHAIN_BYTES])
{
    memcpy(out, STORE_CHAIN_RESTART_PREFIX, STORE_CHAIN_RESTART_PREFIX_BYTES);
    randombytes_buf(out + STORE_CHAIN_RESTART_PREFIX_BYTES, RS_STORE_CHAIN_BYTES - STORE_CHAIN_RESTART_PREFIX_BYTES);
}

void store_chain_put(rs_store *s, rocksdb_writebatch_t *wb, const uint8_t chain[RS_STORE_CHAIN_BYTES])
{
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], STORE_CHAIN_KEY, sizeof STORE_CHAIN_KEY - 1,
                              (const char *)chain, RS_STORE_CHAIN_BYTES);
}

/* A database whose chain value is a restart has written nothing chained
 * since: it may go on writing unchained. Any other value (a link, or none
 * in a database made before restarts) must be restarted first. */
static int mode_for_chain(const uint8_t chain[RS_STORE_CHAIN_BYTES])
{
    return rs_store_chain_is_restart(chain) ? STORE_CHAIN_OFF : STORE_CHAIN_RESTART;
}

static rs_code load_chain(rs_store *s, rs_err *err)
{
    char *errptr = NULL;
    size_t len = 0;
    char *val = rocksdb_get_cf(s->db, s->read_opts, s->cf[STORE_CF_META], STORE_CHAIN_KEY,
                               sizeof STORE_CHAIN_KEY - 1, &len, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "read chain value", s->path);
    if (val != NULL && len != RS_STORE_CHAIN_BYTES) {
        rocksdb_free(val);
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': chain record has %zu bytes, expected %d", s->path,
                          len, RS_STORE_CHAIN_BYTES);
    }
    if (val != NULL) {
        memcpy(s->commit.chain, val, RS_STORE_CHAIN_BYTES);
        rocksdb_free(val);
    }
    atomic_store(&s->commit.mode, mode_for_chain(s->commit.chain));
    s->commit.chain_seq = rocksdb_get_latest_sequence_number(s->db);
    return RS_OK;
}

rs_code store_commit_init(rs_store *s, rs_err *err)
{
    struct store_commit *c = &s->commit;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->wake_mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_mutex_init(&c->q_mu, NULL);
    c->ready = 1;
    if (s->cf[STORE_CF_META] == NULL) {
        /* read-only, made by plain RocksDB: no chained batch yet, and none
         * can be written */
        c->chain_seq = rocksdb_get_latest_sequence_number(s->db);
        return RS_OK;
    }
    return load_chain(s, err);
}

void store_commit_release(rs_store *s)
{
    struct store_commit *c = &s->commit;
    if (!c->ready)
        return;
    pthread_mutex_destroy(&c->q_mu);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->wake_mu);
    pthread_mutex_destroy(&c->mu);
    c->ready = 0;
}

/* Wakes rs_store_wait_for_write callers. The fence pairs with the one in
 * the waiter: either the writer sees the waiter counted, or the waiter sees
 * the new sequence; never neither. */
static void wake_readers(struct store_commit *c)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&c->n_waiters) == 0)
        return;
    pthread_mutex_lock(&c->wake_mu);
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->wake_mu);
}

/* The commit stamp goes after a save point: the caller's batch must come
 * back unchanged, so stamp_remove rolls back to it after the write. */
static void stamp_add(rocksdb_writebatch_t *wb)
{
    uint8_t stamp[STORE_STAMP_BYTES];
    memcpy(stamp, STORE_STAMP_MAGIC, 4);
    rs_le64_put(stamp + 4, rs_clock_wall_ns());
    rocksdb_writebatch_set_save_point(wb);
    rocksdb_writebatch_put_log_data(wb, (const char *)stamp, sizeof stamp);
}

static void stamp_remove(rocksdb_writebatch_t *wb)
{
    char *errptr = NULL;
    rocksdb_writebatch_rollback_to_save_point(wb, &errptr);
    rocksdb_free(errptr); /* only fails without a save point, which stamp_add set */
}

/* The last sequence of a batch just written: RocksDB wrote its first into
 * the header. */
static uint64_t last_seq_of(rocksdb_writebatch_t *wb)
{
    size_t len = 0;
    const uint8_t *rep = (const uint8_t *)rocksdb_writebatch_data(wb, &len);
    return rs_le64_get(rep) + (uint64_t)rocksdb_writebatch_count(wb) - 1;
}

/* After a successful write. */
static void written(rs_store *s, int sync)
{
    if (sync)
        atomic_fetch_add(&s->syncer.n_syncs, 1);
    wake_readers(&s->commit);
}

/* Unchained: stamp and write, with no lock of ours. Returns 0 without
 * writing when the store is chained, or must restart its chain first. */
static int commit_direct(rs_store *s, rocksdb_writebatch_t *wb, int sync, uint64_t *seq_out, rs_code *rc,
                         rs_err *err)
{
    struct store_commit *c = &s->commit;
    /* counted before the mode is read: rs_store_set_chained sets the mode,
     * then waits for the count to fall to 0, so no unchained write lands
     * after it returns */
    atomic_fetch_add(&c->n_direct, 1);
    if (atomic_load(&c->mode) != STORE_CHAIN_OFF) {
        atomic_fetch_sub(&c->n_direct, 1);
        return 0;
    }
    stamp_add(wb);
    char *errptr = NULL;
    rocksdb_write(s->db, sync ? s->write_sync : s->write_nosync, wb, &errptr);
    atomic_fetch_sub(&c->n_direct, 1);
    stamp_remove(wb);
    if (errptr != NULL) {
        *rc = store_err_from(err, errptr, "write", s->path);
        return 1;
    }
    *seq_out = last_seq_of(wb);
    written(s, sync);
    *rc = RS_OK;
    return 1;
}

rs_code store_commit_write(rs_store *s, rocksdb_writebatch_t *wb, int sync, uint64_t *seq_out, rs_err *err)
{
    if (atomic_load(&s->commit.replica))
        return rs_err_set(err, RS_E_UNSUPPORTED,
                          "write: database '%s' is a follower's: it takes batches from its primary only", s->path);
    if (rocksdb_writebatch_count(wb) == 0) {
        /* nothing to write: a stamp or a chain record alone would be a
         * write of ours */
        *seq_out = rocksdb_get_latest_sequence_number(s->db);
        return RS_OK;
    }
    rs_code rc = RS_OK;
    /* a write that waits for an fsync (ALWAYS, GROUP) joins our write
     * groups, chained or not: with many writers they shared each fsync
     * better than RocksDB's own (bench_store, 64 writers under ALWAYS: 62.7K
     * against 42.5K synced puts/s) */
    if (!sync && s->cfg.sync != RS_STORE_SYNC_GROUP && commit_direct(s, wb, sync, seq_out, &rc, err))
        return rc;
    return store_group_write(s, wb, sync, seq_out, err);
}

rs_code store_commit_batch(rs_store *s, rocksdb_writebatch_t *wb, int sync, uint64_t *seq_out, rs_err *err)
{
    struct store_commit *c = &s->commit;
    char *errptr = NULL;

    pthread_mutex_lock(&c->mu);
    int mode = atomic_load(&c->mode);
    stamp_add(wb);
    uint8_t next[RS_STORE_CHAIN_BYTES];
    if (mode == STORE_CHAIN_ON) {
        size_t len = 0;
        const uint8_t *rep = (const uint8_t *)rocksdb_writebatch_data(wb, &len);
        chain_step(c->chain, rep + STORE_BATCH_HEADER, len - STORE_BATCH_HEADER, next);
    } else if (mode == STORE_CHAIN_RESTART) {
        store_chain_restart_value(next);
    }
    /* OFF here: a write that queued while a restart was due, written
     * after it; it adds no chain record */
    if (mode != STORE_CHAIN_OFF)
        store_chain_put(s, wb, next);
    /* sync: RocksDB fsyncs the WAL inside the write, before the batch is
     * visible (ALWAYS) */
    rocksdb_write(s->db, sync ? s->write_sync : s->write_nosync, wb, &errptr);
    if (errptr == NULL) {
        *seq_out = last_seq_of(wb);
        if (mode != STORE_CHAIN_OFF) {
            memcpy(c->chain, next, sizeof next);
            c->chain_seq = *seq_out;
        }
        if (mode == STORE_CHAIN_RESTART)
            atomic_store(&c->mode, STORE_CHAIN_OFF);
    }
    stamp_remove(wb);
    pthread_mutex_unlock(&c->mu);

    if (errptr != NULL)
        return store_err_from(err, errptr, "write", s->path);
    written(s, sync);
    return RS_OK;
}

/* ---- chaining on and off ---------------------------------------------- */

void rs_store_set_chained(rs_store *s, int on)
{
    struct store_commit *c = &s->commit;
    pthread_mutex_lock(&c->mu);
    int mode = atomic_load(&c->mode);
    if (on && mode != STORE_CHAIN_ON) {
        atomic_store(&c->mode, STORE_CHAIN_ON);
        /* unchained writes already inside RocksDB land unchained: wait for
         * them, so that no unchained batch follows a checkpoint a follower
         * is bootstrapped from after this call (it would have to resync) */
        while (atomic_load(&c->n_direct) > 0)
            rs_clock_sleep_us(DRAIN_POLL_US);
        c->chain_seq = rocksdb_get_latest_sequence_number(s->db);
        RS_LOG_INFO("store chaining on path=%s seq=%llu", s->path, (unsigned long long)c->chain_seq);
    } else if (!on && mode == STORE_CHAIN_ON) {
        atomic_store(&c->mode, mode_for_chain(c->chain));
        RS_LOG_INFO("store chaining off path=%s seq=%llu", s->path, (unsigned long long)c->chain_seq);
    }
    pthread_mutex_unlock(&c->mu);
}

int rs_store_is_chained(rs_store *s) { return atomic_load(&s->commit.mode) == STORE_CHAIN_ON; }

/* ---- a follower's side ---------------------------------------------- */

void rs_store_set_replica(rs_store *s, int on) { atomic_store(&s->commit.replica, on ? 1 : 0); }
int rs_store_is_replica(rs_store *s) { return atomic_load(&s->commit.replica); }

void rs_store_chain(rs_store *s, uint64_t *seq, uint8_t chain[RS_STORE_CHAIN_BYTES])
{
    pthread_mutex_lock(&s->commit.mu);
    /* unchained writes leave the chain as it is, at every sequence since */
    *seq = atomic_load(&s->commit.mode) == STORE_CHAIN_OFF ? rocksdb_get_latest_sequence_number(s->db)
                                                           : s->commit.chain_seq;
    memcpy(chain, s->commit.chain, RS_STORE_CHAIN_BYTES);
    pthread_mutex_unlock(&s->commit.mu);
}

/* Checks a replicated batch against this database; called under the
 * commit mutex. *next receives the chain value after it. */
static rs_code check_replicated(rs_store *s, uint64_t first_seq, const uint8_t *rep, size_t len,
                                rs_store_batch_info *info, uint8_t next[RS_STORE_CHAIN_BYTES], rs_err *err)
{
    uint64_t latest = rocksdb_get_latest_sequence_number(s->db);
    if (first_seq != latest + 1)
        return rs_err_set(err, RS_E_GAP, "batch at seq %llu does not follow the latest local seq %llu",
                          (unsigned long long)first_seq, (unsigned long long)latest);
    rs_code rc = rs_store_batch_inspect(s, rep, len, info, err);
    if (rc != RS_OK)
        return rc;
    if (info->first_seq != first_seq)
        return rs_err_set(err, RS_E_CORRUPT, "batch sent as seq %llu says it is seq %llu",
                          (unsigned long long)first_seq, (unsigned long long)info->first_seq);
    /* nothing proves that an unchained batch continues our data */
    if (!info->has_chain)
        return rs_err_set(err, RS_E_GAP,
                          "batch at seq %llu carries no chain record: its primary wrote it unchained (not "
                          "replicated); resync by checkpoint",
                          (unsigned long long)first_seq);
    if (info->chain_restart)
        return rs_err_set(err, RS_E_GAP,
                          "batch at seq %llu restarts the chain: its primary wrote unchained (not replicated) "
                          "from there; resync by checkpoint",
                          (unsigned long long)first_seq);
    chain_step(s->commit.chain, rep + STORE_BATCH_HEADER, info->chain_offset - STORE_BATCH_HEADER, next);
    if (sodium_memcmp(next, info->chain, RS_STORE_CHAIN_BYTES) != 0)
        return rs_err_set(err, RS_E_CORRUPT,
                          "batch at seq %llu: chain differs from the local one, the databases have diverged",
                          (unsigned long long)first_seq);
    return RS_OK;
}

rs_code rs_store_apply_replicated(rs_store *s, uint64_t first_seq, const uint8_t *rep, size_t len, rs_err *err)
{
    struct store_commit *c = &s->commit;
    if (s->cfg.read_only)
        return rs_err_set(err, RS_E_UNSUPPORTED, "apply: database '%s' is open read-only", s->path);
    uint8_t next[RS_STORE_CHAIN_BYTES];
    rs_store_batch_info info;
    char *errptr = NULL;
    uint64_t after = 0;
    pthread_mutex_lock(&c->mu);
    rs_code rc = check_replicated(s, first_seq, rep, len, &info, next, err);
    if (rc == RS_OK) {
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create_from((const char *)rep, len);
        rocksdb_write(s->db, s->write_nosync, wb, &errptr);
        rocksdb_writebatch_destroy(wb);
        if (errptr == NULL) {
            memcpy(c->chain, next, sizeof next);
            c->chain_seq = after = rocksdb_get_latest_sequence_number(s->db);
            /* the chain is a link now: were this database ever written
             * unchained, it would have to restart it first */
            if (atomic_load(&c->mode) == STORE_CHAIN_OFF)
                atomic_store(&c->mode, STORE_CHAIN_RESTART);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (rc != RS_OK)
        return rc;
    /* equal sequence numbers are the whole point: were RocksDB to number
     * the batch differently, the follower would drift from its primary */
    if (errptr == NULL && after != first_seq + info.count - 1)
        return rs_err_set(err, RS_E_INTERNAL, "batch at seq %llu with %u records ended at local seq %llu",
                          (unsigned long long)first_seq, info.count, (unsigned long long)after);
    if (errptr != NULL)
        return store_err_from(err, errptr, "apply replicated batch", s->path);
    wake_readers(c);
    return RS_OK;
}

uint64_t rs_store_wait_for_write(rs_store *s, uint64_t seq, uint64_t timeout_ms)
{
    struct store_commit *c = &s->commit;
    uint64_t latest = rocksdb_get_latest_sequence_number(s->db);
    if (latest > seq || timeout_ms == 0)
        return latest;
    struct timespec until = rs_clock_deadline_ts(timeout_ms);

    pthread_mutex_lock(&c->wake_mu);
    atomic_fetch_add(&c->n_waiters, 1);
    atomic_thread_fence(memory_order_seq_cst);
    while ((latest = rocksdb_get_latest_sequence_number(s->db)) <= seq)
        if (pthread_cond_timedwait(&c->wake, &c->wake_mu, &until) != 0)
            break;
    atomic_fetch_sub(&c->n_waiters, 1);
    pthread_mutex_unlock(&c->wake_mu);
    return rocksdb_get_latest_sequence_number(s->db);
}
