/*
 * The commit path every write takes: it stamps the batch with its commit
 * time, appends the chain record, writes it under one mutex (so the chain
 * follows the WAL's order) and wakes the WAL readers. Concurrent writers
 * reach it in write groups (store_group.c). A follower's batches come in
 * through rs_store_apply_replicated instead, already stamped and chained
 * by their primary; it checks position and chain before writing.
 */
#include <sodium.h>
#include <string.h>

#include "common/clock.h"
#include "common/endian.h"
#include "common/log.h"
#include "store/store_int.h"

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
    s->commit.chain_seq = rocksdb_get_latest_sequence_number(s->db);
    return RS_OK;
}

rs_code store_commit_init(rs_store *s, rs_err *err)
{
    struct store_commit *c = &s->commit;
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    /* the chain record is recognised in raw batch bytes by this id */
    uint32_t meta_id = s->cf[STORE_CF_META] != NULL ? rocksdb_column_family_handle_get_id(s->cf[STORE_CF_META])
                                                    : STORE_META_CF_ID;
    if (meta_id != STORE_META_CF_ID)
        return rs_err_set(err, RS_E_UNSUPPORTED, "database '%s': family rs_meta has id %u, expected %u", s->path,
                          meta_id, STORE_META_CF_ID);
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

rs_code store_commit_batch(rs_store *s, rocksdb_writebatch_t *wb, int sync, uint64_t *seq_out, rs_err *err)
{
    struct store_commit *c = &s->commit;
    uint8_t stamp[STORE_STAMP_BYTES];
    memcpy(stamp, STORE_STAMP_MAGIC, 4);
    char *errptr = NULL;

    pthread_mutex_lock(&c->mu);
    /* the caller's batch must come back unchanged: the two records are
     * added after a save point and rolled back after the write */
    rocksdb_writebatch_set_save_point(wb);
    rs_le64_put(stamp + 4, rs_clock_wall_ns());
    rocksdb_writebatch_put_log_data(wb, (const char *)stamp, sizeof stamp);
    size_t len = 0;
    const uint8_t *rep = (const uint8_t *)rocksdb_writebatch_data(wb, &len);
    uint8_t next[RS_STORE_CHAIN_BYTES];
    chain_step(c->chain, rep + STORE_BATCH_HEADER, len - STORE_BATCH_HEADER, next);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], STORE_CHAIN_KEY, sizeof STORE_CHAIN_KEY - 1,
                              (const char *)next, sizeof next);
    /* sync: RocksDB fsyncs the WAL inside the write, before the batch is
     * visible (ALWAYS) */
    rocksdb_write(s->db, sync ? s->write_sync : s->write_nosync, wb, &errptr);
    if (errptr == NULL) {
        memcpy(c->chain, next, sizeof next);
        c->chain_seq = rocksdb_get_latest_sequence_number(s->db);
        *seq_out = c->chain_seq;
    }
    char *rb_err = NULL;
    rocksdb_writebatch_rollback_to_save_point(wb, &rb_err);
    pthread_mutex_unlock(&c->mu);

    if (rb_err != NULL)
        rocksdb_free(rb_err); /* only fails without a save point, which was just set */
    if (errptr != NULL)
        return store_err_from(err, errptr, "write", s->path);
    if (sync)
        atomic_fetch_add(&s->syncer.n_syncs, 1);
    wake_readers(c);
    return RS_OK;
}

/* ---- a follower's side ---------------------------------------------- */

void rs_store_set_replica(rs_store *s, int on) { atomic_store(&s->commit.replica, on ? 1 : 0); }
int rs_store_is_replica(rs_store *s) { return atomic_load(&s->commit.replica); }

void rs_store_chain(rs_store *s, uint64_t *seq, uint8_t chain[RS_STORE_CHAIN_BYTES])
{
    pthread_mutex_lock(&s->commit.mu);
    *seq = s->commit.chain_seq;
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
    rs_code rc = rs_store_batch_inspect(rep, len, info, err);
    if (rc != RS_OK)
        return rc;
    if (info->first_seq != first_seq)
        return rs_err_set(err, RS_E_CORRUPT, "batch sent as seq %llu says it is seq %llu",
                          (unsigned long long)first_seq, (unsigned long long)info->first_seq);
    if (!info->has_chain)
        return rs_err_set(err, RS_E_CORRUPT, "batch at seq %llu carries no chain record",
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
