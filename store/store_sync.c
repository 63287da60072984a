/*
 * Group commit. Writers under the GROUP policy write their batch without an
 * fsync and then wait here for a WAL fsync that covers it. A writer that
 * blocks does not hand the fsync to another thread: the first waiter that
 * finds no fsync running becomes the leader and runs one itself, for
 * everyone; writers that arrive meanwhile wait, and the next leader's fsync
 * covers all of them. A lone writer pays one fsync and no thread hand-off;
 * N concurrent writers share about one fsync per fsync-time. An event loop
 * that must not block (rs_store_sync_request) is served by the syncer
 * thread, which leads fsyncs by the same rules. The durability promise is
 * unchanged: nobody is told a write is durable before the WAL holding it is
 * on disk.
 *
 * The sequence read before an fsync is a safe bound: RocksDB publishes a
 * sequence only after its batch is in the WAL file, so SyncWAL() afterwards
 * covers it. A waiter's sequence is read after its own write, so the next
 * fsync to start after it waits covers it.
 */
#include "common/clock.h"
#include "common/log.h"
#include "store/store_int.h"

/* ---- leading one fsync ---------------------------------------------- */

/* Called with y->mu held, by a waiting writer or the syncer thread; returns
 * with it held. Waiters for this fsync sleep on turn[gen % 2], those that
 * came too late for it on the other one; so a finished fsync wakes only the
 * writers it covered, and one of the others to lead the next. */
static void lead_one_sync(rs_store *s, struct store_syncer *y)
{
    y->syncing = 1;
    if (y->gap_us > 0) {
        /* an optional delay so that more writers join this fsync */
        uint64_t since_us = (rs_clock_mono_ns() - y->last_start_ns) / 1000u;
        if (since_us < y->gap_us) {
            pthread_mutex_unlock(&y->mu);
            rs_clock_sleep_us(y->gap_us - since_us);
            pthread_mutex_lock(&y->mu);
        }
    }
    y->gen++;
    y->next_waiting = 0;
    y->target = rocksdb_get_latest_sequence_number(s->db);
    y->last_start_ns = rs_clock_mono_ns();
    pthread_mutex_unlock(&y->mu);

    char *errptr = NULL;
    rocksdb_flush_wal(s->db, 1, &errptr);
    rs_err failure = RS_ERR_INIT;
    if (errptr != NULL)
        store_err_from(&failure, errptr, "sync WAL", s->path);

    pthread_mutex_lock(&y->mu);
    y->syncing = 0;
    atomic_fetch_add(&y->n_syncs, 1);
    if (failure.code != RS_OK) {
        if (y->failure.code == RS_OK)
            y->failure = failure;
        RS_LOG_ERR("WAL fsync failed, no write is durable from now on: %s", failure.msg);
    } else if (y->target > y->synced) {
        y->synced = y->target;
    }
    pthread_cond_broadcast(&y->turn[y->gen % 2]);
    if (failure.code != RS_OK)
        pthread_cond_broadcast(&y->turn[(y->gen + 1) % 2]); /* everyone learns */
    else if (y->next_waiting)
        pthread_cond_signal(&y->turn[(y->gen + 1) % 2]); /* the next leader */
    if (y->requested > y->synced)
        pthread_cond_signal(&y->wake); /* an asynchronous request is left */
    if (y->listener != NULL)
        y->listener(y->listener_arg);
}

/* ---- the syncer thread: asynchronous requests ----------------------- */

static void *syncer_main(void *arg)
{
    rs_store *s = arg;
    struct store_syncer *y = &s->syncer;
    pthread_mutex_lock(&y->mu);
    for (;;) {
        /* requests made before a close are still served before it */
        if (y->requested > y->synced && !y->syncing && y->failure.code == RS_OK)
            lead_one_sync(s, y);
        else if (y->stopping)
            break;
        else
            pthread_cond_wait(&y->wake, &y->mu);
    }
    pthread_mutex_unlock(&y->mu);
    return NULL;
}

rs_code store_syncer_start(rs_store *s, rs_err *err)
{
    struct store_syncer *y = &s->syncer;
    pthread_mutex_init(&y->mu, NULL);
    pthread_cond_init(&y->wake, NULL);
    pthread_cond_init(&y->turn[0], NULL);
    pthread_cond_init(&y->turn[1], NULL);
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
    pthread_cond_destroy(&y->turn[0]);
    pthread_cond_destroy(&y->turn[1]);
    pthread_cond_destroy(&y->wake);
    pthread_mutex_destroy(&y->mu);
}

/* ---- waiting --------------------------------------------------------- */

rs_code store_syncer_wait(rs_store *s, uint64_t seq, rs_err *err)
{
    struct store_syncer *y = &s->syncer;
    if (!y->running)
        return RS_OK; /* RS_STORE_SYNC_NONE: nothing to wait for */
    pthread_mutex_lock(&y->mu);
    while (seq > y->synced && y->failure.code == RS_OK) {
        if (!y->syncing) {
            lead_one_sync(s, y);
        } else if (seq <= y->target) {
            pthread_cond_wait(&y->turn[y->gen % 2], &y->mu);
        } else {
            y->next_waiting = 1;
            pthread_cond_wait(&y->turn[(y->gen + 1) % 2], &y->mu);
        }
    }
    rs_code rc = RS_OK;
    if (seq > y->synced) {
        /* sticky: after a failed fsync nothing later can be called durable */
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
        /* while an fsync runs, its leader passes the request on */
        if (!y->syncing)
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
