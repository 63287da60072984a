/*
 * Group commit. Writers in the GROUP policy write their batch without an
 * fsync and then wait here; one thread fsyncs the WAL for all of them, at
 * most once per gap_us, so N concurrent writers pay for one fsync instead of
 * N. The durability promise is unchanged: nobody returns before the WAL
 * holding their write is on disk.
 *
 * The sequence read before an fsync is a safe bound: RocksDB publishes a
 * sequence only after its batch is in the WAL file, so SyncWAL() afterwards
 * covers it.
 */
#include "common/clock.h"
#include "common/log.h"
#include "store/store_int.h"

static uint64_t now_us(void) { return rs_clock_mono_ns() / 1000u; }

/* One fsync of the WAL; returns the sequence it made durable, or 0. */
static uint64_t sync_once(rs_store *s, rs_err *failure)
{
    uint64_t target = rocksdb_get_latest_sequence_number(s->db);
    char *errptr = NULL;
    rocksdb_flush_wal(s->db, 1, &errptr);
    if (errptr != NULL) {
        store_err_from(failure, errptr, "sync WAL", s->path);
        return 0;
    }
    return target;
}

static void *syncer_main(void *arg)
{
    rs_store *s = arg;
    struct store_syncer *y = &s->syncer;
    uint64_t last_start = 0;

    pthread_mutex_lock(&y->mu);
    for (;;) {
        while (!y->stopping && y->requested <= y->synced)
            pthread_cond_wait(&y->wake, &y->mu);
        if (y->requested <= y->synced)
            break; /* stopping, nobody waiting */
        pthread_mutex_unlock(&y->mu);

        /* let more writers join this fsync instead of starting one each */
        uint64_t since = now_us() - last_start;
        if (last_start != 0 && since < y->gap_us)
            rs_clock_sleep_us(y->gap_us - since);
        last_start = now_us();
        rs_err failure = RS_ERR_INIT;
        uint64_t done = sync_once(s, &failure);

        pthread_mutex_lock(&y->mu);
        if (failure.code != RS_OK) {
            if (y->failure.code == RS_OK)
                y->failure = failure;
            RS_LOG_ERR("WAL fsync failed, no write is durable from now on: %s", failure.msg);
        } else if (done > y->synced) {
            y->synced = done;
        }
        y->n_syncs++;
        pthread_cond_broadcast(&y->done);
        if (y->listener != NULL)
            y->listener(y->listener_arg);
        if (y->failure.code != RS_OK)
            y->requested = y->synced; /* waiters see the failure and leave */
    }
    pthread_mutex_unlock(&y->mu);
    return NULL;
}

rs_code store_syncer_start(rs_store *s, rs_err *err)
{
    struct store_syncer *y = &s->syncer;
    pthread_mutex_init(&y->mu, NULL);
    pthread_cond_init(&y->wake, NULL);
    pthread_cond_init(&y->done, NULL);
    y->synced = rocksdb_get_latest_sequence_number(s->db);
    y->requested = y->synced;
    y->gap_us = s->cfg.sync == RS_STORE_SYNC_GROUP ? s->cfg.group_commit_us : 0;
    int rc = pthread_create(&y->thread, NULL, syncer_main, s);
    if (rc != 0)
        return rs_err_sys(err, RS_E_IO, rc, "start the WAL syncer thread");
    pthread_setname_np(y->thread, "rs-walsync");
    y->running = 1;
    return RS_OK;
}

void store_syncer_stop(rs_store *s)
{
    struct store_syncer *y = &s->syncer;
    if (!y->running)
        return;
    pthread_mutex_lock(&y->mu);
    y->stopping = 1;
    pthread_cond_signal(&y->wake);
    pthread_mutex_unlock(&y->mu);
    pthread_join(y->thread, NULL);
    y->running = 0;
    pthread_cond_destroy(&y->done);
    pthread_cond_destroy(&y->wake);
    pthread_mutex_destroy(&y->mu);
}

rs_code store_syncer_wait(rs_store *s, uint64_t seq, rs_err *err)
{
    struct store_syncer *y = &s->syncer;
    if (!y->running)
        return RS_OK; /* RS_STORE_SYNC_NONE: nothing to wait for */
    pthread_mutex_lock(&y->mu);
    if (seq > y->synced && y->failure.code == RS_OK) {
        if (seq > y->requested)
            y->requested = seq;
        pthread_cond_signal(&y->wake);
        while (seq > y->synced && y->failure.code == RS_OK)
            pthread_cond_wait(&y->done, &y->mu);
    }
    rs_code rc = RS_OK;
    if (seq > y->synced) {
        rc = y->failure.code;
        if (err != NULL && err->code == RS_OK)
            *err = y->failure;
    }
    pthread_mutex_unlock(&y->mu);
    return rc;
}

rs_code rs_store_sync_wait(rs_store *s, uint64_t seq, rs_err *err)
{
    return store_syncer_wait(s, seq, err);
}

/* ---- asynchronous durability (event loops) ------------------------- */

void rs_store_sync_listen(rs_store *s, rs_store_synced_fn fn, void *arg)
{
    struct store_syncer *y = &s->syncer;
    if (!y->running)
        return;
    pthread_mutex_lock(&y->mu);
    y->listener = fn;
    y->listener_arg = arg;
    pthread_mutex_unlock(&y->mu);
}

void rs_store_sync_request(rs_store *s, uint64_t seq)
{
    struct store_syncer *y = &s->syncer;
    if (!y->running)
        return;
    pthread_mutex_lock(&y->mu);
    if (seq > y->requested && y->failure.code == RS_OK) {
        y->requested = seq;
        pthread_cond_signal(&y->wake);
    }
    pthread_mutex_unlock(&y->mu);
}

rs_code rs_store_synced_seq(rs_store *s, uint64_t *seq_out, rs_err *err)
{
    struct store_syncer *y = &s->syncer;
    if (!y->running) {
        *seq_out = UINT64_MAX;
        return RS_OK;
    }
    pthread_mutex_lock(&y->mu);
    *seq_out = y->synced;
    rs_code rc = y->failure.code;
    if (rc != RS_OK && err != NULL && err->code == RS_OK)
        *err = y->failure;
    pthread_mutex_unlock(&y->mu);
    return rc;
}
