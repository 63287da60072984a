/*
 * One connection of a follower: the handshake, IDENTIFY and WELCOME (with
 * a checkpoint first when the primary says so), then the stream: each
 * batch is checked by the store (first sequence exactly latest + 1, chain
 * equal) before it is applied, and an ack thread ("rs-ack") reports the
 * applied and durable sequence with the chain value and the applied
 * version of the versioned state. A gap or a divergence ends the
 * connection with a resync requested; nothing is ever skipped.
 */
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "wal/wal_int.h"

#define ACK_GAP_NS 250000u /* at most one ack per 0.25 ms */

/* ---- identify ------------------------------------------------------------- */

static rs_code send_identity(rs_wal_follower *f, wal_conn *c, rs_err *err)
{
    wal_identity id = {0};
    snprintf(id.name, sizeof id.name, "%s", f->name);
    pthread_rwlock_rdlock(&f->store_lock);
    rs_code rc = RS_OK;
    if (f->store == NULL) {
        id.flags |= WAL_IDENT_EMPTY;
    } else {
        rs_store_id(f->store, id.db_id);
        rs_store_chain(f->store, &id.latest_seq, id.chain);
        rc = rs_wal_history_current(f->store, id.history, err);
    }
    pthread_rwlock_unlock(&f->store_lock);
    pthread_mutex_lock(&f->mu);
    if (f->resync_pending)
        id.flags |= WAL_IDENT_RESYNC;
    pthread_mutex_unlock(&f->mu);
    uint8_t buf[128];
    size_t n = wal_identity_encode(&id, buf, sizeof buf);
    return rc == RS_OK ? wal_conn_send_msg(c, RS_WAL_FRAME_IDENTIFY, buf, n, err) : rc;
}

/* IDENTIFY until WELCOME says stream; installs a checkpoint when told. */
static rs_code identify(rs_wal_follower *f, wal_conn *c, wal_welcome *w, rs_err *err)
{
    for (;;) {
        rs_wal_frame fr;
        rs_code rc = send_identity(f, c, err);
        if (rc == RS_OK)
            rc = wal_conn_expect(c, RS_WAL_FRAME_WELCOME, &fr, f->cfg.timeout_ms, err);
        if (rc == RS_OK)
            rc = wal_welcome_decode(fr.payload, fr.payload_len, w, err);
        if (rc != RS_OK)
            return rc;
        if (w->mode == WAL_MODE_STREAM) {
            /* the primary still held the batch after our checkpoint */
            pthread_mutex_lock(&f->mu);
            f->fresh_install = 0;
            pthread_mutex_unlock(&f->mu);
            return RS_OK;
        }
        rc = wal_follower_install(f, c, w, err);
        if (rc != RS_OK)
            return rc;
    }
}

/* ---- acks ------------------------------------------------------------------ */

/* What a follower's own store failing to write means: the stream is fine,
 * this disk (or memory) is not. No resync, which would need room for a
 * second copy: the connection ends, and the next one, after a backoff,
 * resumes where this one stopped (follower.c). */
static rs_code local_fault(rs_wal_follower *f, rs_code rc, rs_err *err)
{
    wal_follower_note_local_fault(f);
    rs_err_prefix(err, "cannot write its own database");
    return rc;
}


struct acker {
    rs_wal_follower *f;
    wal_conn        *conn;
    pthread_t        thread;
    atomic_int       stop;
    rs_err           err;
};

static rs_code ack_once(struct acker *a, uint64_t durable, wal_ack *ack)
{
    rs_store *s = a->f->store; /* the session holds the store lock for reading */
    /* read before the chain: the version is then at or before applied_seq,
     * so the primary's pruning floor is never too high */
    pthread_mutex_lock(&a->f->mu);
    ack->applied_version = a->f->st.applied_version;
    pthread_mutex_unlock(&a->f->mu);
    rs_store_chain(s, &ack->applied_seq, ack->chain);
    ack->durable_seq = durable;
    return wal_send_ack(a->conn, ack, &a->err);
}

/* Waits until more is applied than acked, or a heartbeat is due. */
static void wait_for_more(rs_wal_follower *f, struct acker *a, uint64_t acked)
{
    pthread_mutex_lock(&f->mu);
    if (f->st.applied_seq == acked && !atomic_load(&a->stop)) {
        struct timespec until = rs_clock_deadline_ts(f->cfg.heartbeat_ms);
        f->n_applied_waiters++;
        pthread_cond_timedwait(&f->applied_cv, &f->mu, &until);
        f->n_applied_waiters--;
    }
    pthread_mutex_unlock(&f->mu);
}

static void *acker_main(void *arg)
{
    struct acker *a = arg;
    rs_wal_follower *f = a->f;
    uint64_t durable = 0;
    while (!atomic_load(&a->stop)) {
        wal_ack ack;
        uint64_t t0 = rs_clock_mono_ns();
        if (ack_once(a, durable, &ack) != RS_OK)
            break;
        /* fsync what was acked, off the apply path; the next ack says so */
        if (rs_store_sync_wait(f->store, ack.applied_seq, &a->err) != RS_OK) {
            local_fault(f, a->err.code, &a->err);
            break;
        }
        durable = ack.applied_seq;
        /* under load, one ack per ACK_GAP_NS covers many batches: an ack
         * per batch would cost the primary a wake-up per batch */
        uint64_t spent = rs_clock_mono_ns() - t0;
        if (spent < ACK_GAP_NS)
            rs_clock_sleep_us((ACK_GAP_NS - spent) / 1000u);
        wait_for_more(f, a, ack.applied_seq);
    }
    if (!atomic_exchange(&a->stop, 1))
        wal_conn_shutdown(a->conn); /* a failed ack ends the session */
    return NULL;
}

/* ---- the stream --------------------------------------------------------------- */

static void note_applied(rs_wal_follower *f, const rs_wal_frame *fr)
{
    uint64_t now = rs_clock_wall_ns();
    pthread_mutex_lock(&f->mu);
    f->st.applied_seq = fr->first_seq + fr->count - 1;
    if (fr->flags & RS_WAL_FRAME_FLAG_VERSION_KIND)
        f->st.applied_version = fr->state_version;
    f->st.lag_ms = f->st.primary_seq > f->st.applied_seq && now > fr->commit_time_ns
                       ? (now - fr->commit_time_ns) / 1000000u : 0;
    if (f->st.applied_seq > f->st.primary_seq)
        f->st.primary_seq = f->st.applied_seq;
    if (f->n_applied_waiters > 0)
        pthread_cond_broadcast(&f->applied_cv);
    pthread_mutex_unlock(&f->mu);
    if (f->cfg.applied_fn != NULL)
        f->cfg.applied_fn(f->cfg.applied_arg, fr->first_seq + fr->count - 1, fr->commit_time_ns);
}

/* A batch the store refused: a gap, an overlap, a batch its primary wrote
 * unchained (RS_E_GAP) or a divergence (RS_E_CORRUPT). The connection ends
 * and the next one asks for a checkpoint. */
static rs_code refused_batch(rs_wal_follower *f, rs_code rc, rs_err *err)
{
    pthread_mutex_lock(&f->mu);
    f->resync_pending = 1;
    if (rc == RS_E_CORRUPT)
        f->st.n_divergences++;
    pthread_mutex_unlock(&f->mu);
    RS_LOG_ERR("follower of %s refused a batch, resyncing by checkpoint: %s", f->primary_addr, err->msg);
    return rc;
}

/* The header repeats what the batch says of the versioned state (its
 * versions record, read by the store): they must agree. */
static rs_code check_version_mark(rs_wal_follower *f, const rs_wal_frame *fr, rs_err *err)
{
    rs_store_version_mark m = {0};
    rs_code rc = rs_store_batch_version(f->store, fr->payload, fr->payload_len, &m, err);
    if (rc != RS_OK && rc != RS_E_NOTFOUND)
        return rc;
    unsigned kind = rc == RS_OK ? (unsigned)m.kind : 0;
    uint64_t version = rc == RS_OK ? m.latest : 0;
    if ((fr->flags & RS_WAL_FRAME_FLAG_VERSION_KIND) != kind || fr->state_version != version)
        return rs_err_set(err, RS_E_CORRUPT,
                          "frame at seq %llu: header says version kind %u, version %llu; the batch says %u, %llu",
                          (unsigned long long)fr->first_seq, fr->flags & RS_WAL_FRAME_FLAG_VERSION_KIND,
                          (unsigned long long)fr->state_version, kind, (unsigned long long)version);
    return RS_OK;
}

/* Checks and applies one batch. After a batch that moves the versioned
 * state (a commit, a rollback, the primary's prune round), the store's
 * in-memory view of it (what reads are refused, what compactions drop)
 * catches up with what was applied. */
static rs_code apply_batch(rs_wal_follower *f, const rs_wal_frame *fr, rs_err *err)
{
    /* the chain record is the batch's last record, its value the last
     * bytes: the header must repeat it. A header without one (zeros) is a
     * batch its primary wrote unchained: the store refuses it, saying so */
    static const uint8_t none[RS_WAL_CHAIN_BYTES];
    rs_code rc = RS_OK;
    if (sodium_memcmp(fr->chain, none, RS_WAL_CHAIN_BYTES) != 0 &&
        (fr->payload_len < RS_WAL_CHAIN_BYTES ||
         sodium_memcmp(fr->chain, fr->payload + fr->payload_len - RS_WAL_CHAIN_BYTES, RS_WAL_CHAIN_BYTES) != 0))
        rc = rs_err_set(err, RS_E_CORRUPT, "frame at seq %llu: header chain differs from the batch's",
                        (unsigned long long)fr->first_seq);
    if (rc == RS_OK)
        rc = check_version_mark(f, fr, err);
    if (rc == RS_OK)
        rc = rs_store_apply_replicated(f->store, fr->first_seq, fr->payload, fr->payload_len, err);
    /* the store's checks say mismatch (a gap, a chain or a version that
     * differs, a sequence numbered otherwise); anything else is its I/O */
    if (rc == RS_E_GAP || rc == RS_E_CORRUPT || rc == RS_E_INTERNAL)
        return refused_batch(f, rc, err);
    if (rc != RS_OK)
        return local_fault(f, rc, err);
    if ((fr->flags & RS_WAL_FRAME_FLAG_VERSION_KIND) && (rc = rs_store_version_reload(f->store, err)) != RS_OK)
        return local_fault(f, rc, err);
    note_applied(f, fr);
    return RS_OK;
}

static rs_code on_frame(rs_wal_follower *f, const rs_wal_frame *fr, rs_err *err)
{
    switch (fr->type) {
    case RS_WAL_FRAME_BATCH:
        return apply_batch(f, fr, err);
    case RS_WAL_FRAME_HEARTBEAT:
        pthread_mutex_lock(&f->mu);
        f->st.primary_seq = wal_heartbeat_seq(fr);
        if (f->st.primary_seq <= f->st.applied_seq)
            f->st.lag_ms = 0;
        pthread_mutex_unlock(&f->mu);
        return RS_OK;
    case RS_WAL_FRAME_REFUSE: {
        int why = wal_refusal_code(fr);
        rs_code rc = wal_refusal_to_err(fr, err);
        if (why == WAL_REFUSE_DIVERGED || why == WAL_REFUSE_BEHIND)
            return refused_batch(f, rc, err);
        return rc;
    }
    default:
        return rs_err_set(err, RS_E_PROTOCOL, "primary sent a frame of type %u while streaming", fr->type);
    }
}

static rs_code stream(rs_wal_follower *f, wal_conn *c, struct acker *a, rs_err *err)
{
    while (!atomic_load(&f->stop) && !atomic_load(&a->stop)) {
        rs_wal_frame fr;
        rs_code rc = wal_conn_recv(c, &fr, f->cfg.timeout_ms, err);
        if (rc == RS_OK)
            rc = on_frame(f, &fr, err);
        if (rc != RS_OK)
            return a->err.code != RS_OK && !atomic_load(&f->stop) ? (*err = a->err, a->err.code) : rc;
    }
    return RS_OK;
}

static rs_code check_welcome(rs_wal_follower *f, const wal_welcome *w, rs_err *err)
{
    uint8_t id[16];
    rs_store_id(f->store, id);
    if (memcmp(id, w->db_id, 16) != 0)
        return rs_err_set(err, RS_E_PROTOCOL, "primary welcomed a stream of another database");
    pthread_mutex_lock(&f->mu);
    f->st.primary_seq = w->primary_seq;
    memcpy(f->st.history, w->history, RS_WAL_HISTORY_BYTES);
    f->st.state = RS_WAL_FOLLOWER_STREAMING;
    pthread_mutex_unlock(&f->mu);
    return RS_OK;
}

rs_code wal_follower_session(rs_wal_follower *f, wal_conn *c, rs_err *err)
{
    wal_welcome w;
    rs_code rc = wal_handshake_follower(c, &f->cfg.key, f->cfg.encrypt, f->cfg.timeout_ms, err);
    if (rc == RS_OK)
        rc = identify(f, c, &w, err);
    if (rc != RS_OK)
        return rc;
    /* the store stays put while streaming: only this thread swaps it */
    pthread_rwlock_rdlock(&f->store_lock);
    rc = check_welcome(f, &w, err);
    struct acker a = {.f = f, .conn = c};
    a.err = (rs_err)RS_ERR_INIT;
    if (rc == RS_OK && pthread_create(&a.thread, NULL, acker_main, &a) != 0)
        rc = rs_err_set(err, RS_E_INTERNAL, "cannot start the ack thread");
    if (rc == RS_OK) {
        pthread_setname_np(a.thread, "rs-ack");
        RS_LOG_INFO("following %s from seq=%llu", f->primary_addr, (unsigned long long)f->st.applied_seq + 1);
        rc = stream(f, c, &a, err);
        atomic_store(&a.stop, 1);
        pthread_mutex_lock(&f->mu);
        pthread_cond_broadcast(&f->applied_cv);
        pthread_mutex_unlock(&f->mu);
        wal_conn_shutdown(c);
        pthread_join(a.thread, NULL);
    }
    pthread_rwlock_unlock(&f->store_lock);
    return rc;
}
