/*
 * One follower's session on the primary. The session thread ("rs-ship")
 * runs the handshake, decides how the follower starts (stream from its
 * latest + 1, or a checkpoint first), then reads the WAL with its own
 * reader and sends every batch through the connection's bounded queue. A
 * second thread ("rs-acks") reads the follower's acknowledgements and
 * heartbeats, checks each acked chain value against the one shipped, and
 * drops a follower that falls silent.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "wal/wal_int.h"

#define FLUSH_BYTES (64u << 10) /* send what is queued past this much */
#define FLUSH_NS    1000000u    /* or when its oldest frame waited this long */
/* Under load (the last pass found more than one batch), the reader pauses
 * this long instead of waiting to be woken: writers then pay no wake-up
 * each, and a pass ships many batches in one send. When a pass finds one
 * batch or none, the reader waits to be woken, so an idle primary's next
 * write leaves at once. */
#define COALESCE_US 200u

/* ---- deciding how a follower starts ------------------------------------ */

struct start {
    wal_mode     mode;
    rs_wal_tail *tail;       /* stream mode: positioned at latest + 1 */
    uint64_t     from;       /* the follower's latest */
    /* the first batch, read to prove the WAL still holds latest + 1 (its
     * payload valid until the next read of the tail) */
    int          have_first;
    rs_wal_frame first;
};

static int refuse(struct wal_peer *pe, wal_refusal why, const char *msg)
{
    RS_LOG_WARN("follower=%s addr=%s refused: %s", pe->name, pe->addr, msg);
    wal_send_refusal(pe->conn, why, msg);
    atomic_fetch_add(&pe->p->n_refused, 1);
    return -1;
}

/* Whether the follower's database is this one, on a history it may
 * follow, and not ahead. Returns 0, or -1 after refusing it. */
static int check_identity(struct wal_peer *pe, const wal_identity *id, const wal_history *h, int resynced)
{
    rs_wal_primary *p = pe->p;
    char msg[256], ours[33], theirs[33];
    uint8_t db_id[16];
    rs_store_id(p->store, db_id);
    if (memcmp(db_id, id->db_id, 16) != 0) {
        rs_hex_encode(db_id, sizeof db_id, ours, sizeof ours);
        rs_hex_encode(id->db_id, sizeof db_id, theirs, sizeof theirs);
        snprintf(msg, sizeof msg,
                 "other database: the follower's database id is %s, this primary's is %s; follow with an empty --db",
                 theirs, ours);
        return refuse(pe, WAL_REFUSE_DATABASE, msg);
    }
    if (wal_history_admits(h, id->history, id->latest_seq, msg, sizeof msg) != 0)
        return refuse(pe, WAL_REFUSE_HISTORY, msg);
    uint64_t latest = rs_store_latest_seq(p->store);
    if (id->latest_seq > latest) {
        snprintf(msg, sizeof msg, "follower is at seq %llu, ahead of this primary's %llu: it holds writes this "
                 "primary never had", (unsigned long long)id->latest_seq, (unsigned long long)latest);
        return refuse(pe, resynced ? WAL_REFUSE_PROTOCOL : WAL_REFUSE_AHEAD, msg);
    }
    return 0;
}

/* A follower whose chain differs at the same sequence has diverged. */
static int chain_differs(rs_store *store, const wal_identity *id)
{
    uint64_t seq;
    uint8_t chain[RS_WAL_CHAIN_BYTES];
    rs_store_chain(store, &seq, chain);
    return seq == id->latest_seq && sodium_memcmp(chain, id->chain, RS_WAL_CHAIN_BYTES) != 0;
}

/* A follower whose latest sequence falls inside one of this primary's
 * batches applied batches this primary never wrote: a divergence, resynced
 * like one (not a retention problem, which is what a gap would say). */
static void diverged_inside_batch(struct wal_peer *pe, const wal_identity *id, const rs_err *err)
{
    atomic_fetch_add(&pe->p->n_divergences, 1);
    RS_LOG_ERR("follower=%s diverged: its latest seq %llu is not the end of a batch this primary wrote (%s); "
               "resyncing it", pe->name, (unsigned long long)id->latest_seq, err->msg);
}

/* Stream if the WAL still holds latest + 1, else a checkpoint. */
static int decide(struct wal_peer *pe, const wal_identity *id, int resynced, struct start *st)
{
    rs_wal_primary *p = pe->p;
    st->tail = NULL;
    if (id->flags & (WAL_IDENT_EMPTY | WAL_IDENT_RESYNC)) {
        st->mode = WAL_MODE_CHECKPOINT;
        return 0;
    }
    wal_history h;
    rs_err err = RS_ERR_INIT;
    if (wal_history_load(p->store, &h, &err) != RS_OK)
        return refuse(pe, WAL_REFUSE_PROTOCOL, err.msg);
    if (check_identity(pe, id, &h, resynced) != 0)
        return -1;
    if (chain_differs(p->store, id)) {
        atomic_fetch_add(&p->n_divergences, 1);
        RS_LOG_ERR("follower=%s diverged: its chain at seq %llu differs from ours; resyncing it", pe->name,
                   (unsigned long long)id->latest_seq);
        st->mode = WAL_MODE_CHECKPOINT;
        return 0;
    }
    if (rs_wal_tail_open(p->store, id->latest_seq + 1, pe->name, &st->tail, &err) != RS_OK)
        return refuse(pe, WAL_REFUSE_PROTOCOL, err.msg);
    st->from = id->latest_seq;
    st->mode = WAL_MODE_STREAM;
    /* read the first batch now: a follower the WAL moved past, or whose
     * next batch was written unchained, is sent a checkpoint in this
     * session, where a second one is refused, so a resync that cannot
     * catch up never loops */
    rs_code rc = rs_wal_tail_next(st->tail, &st->first, &err);
    st->have_first = rc == RS_OK;
    if (rc == RS_OK || rc == RS_E_NOTFOUND)
        return 0;
    int unchained = wal_tail_unchained(st->tail);
    rs_wal_tail_close(st->tail);
    st->tail = NULL;
    st->have_first = 0;
    if (rc == RS_E_CORRUPT)
        diverged_inside_batch(pe, id, &err);
    else if (rc == RS_E_GAP && unchained)
        RS_LOG_WARN("follower=%s cannot resume at seq=%llu: resyncing it by checkpoint (%s)", pe->name,
                    (unsigned long long)id->latest_seq + 1, err.msg);
    else if (rc == RS_E_GAP)
        RS_LOG_WARN("follower=%s fell past the WAL this primary keeps: resyncing it (%s)", pe->name, err.msg);
    else
        return refuse(pe, WAL_REFUSE_PROTOCOL, err.msg);
    st->mode = WAL_MODE_CHECKPOINT;
    return 0;
}

/* ---- the handshake and the start --------------------------------------- */

static rs_code send_welcome(struct wal_peer *pe, wal_mode mode, rs_err *err)
{
    wal_welcome w = {.primary_seq = rs_store_latest_seq(pe->p->store), .mode = (uint8_t)mode};
    rs_store_id(pe->p->store, w.db_id);
    rs_code rc = rs_wal_history_current(pe->p->store, w.history, err);
    uint8_t buf[64];
    size_t n = wal_welcome_encode(&w, buf, sizeof buf);
    return rc == RS_OK ? wal_conn_send_msg(pe->conn, RS_WAL_FRAME_WELCOME, buf, n, err) : rc;
}

static rs_code send_checkpoint(struct wal_peer *pe, int *resynced, rs_err *err)
{
    rs_wal_primary *p = pe->p;
    if (*resynced) {
        /* a second checkpoint in one session would loop forever */
        refuse(pe, WAL_REFUSE_BEHIND, "still behind after a resync: the WAL no longer holds the batch after the "
                                      "checkpoint; raise --wal-keep-seconds/--wal-keep-bytes or the resync rate");
        return rs_err_set(err, RS_E_GAP, "follower '%s' still behind after a resync", pe->name);
    }
    atomic_store(&pe->state, RS_WAL_PEER_CHECKPOINT);
    uint64_t seq = 0;
    uint64_t t0 = rs_clock_mono_ns();
    rs_code rc = send_welcome(pe, WAL_MODE_CHECKPOINT, err);
    if (rc == RS_OK)
        rc = wal_ckpt_send(pe->conn, p->store, p->work_dir, p->cfg.resync_bytes_per_sec, &seq, &pe->stop, err);
    if (rc != RS_OK)
        return rc;
    atomic_fetch_add(&p->n_checkpoints, 1);
    RS_LOG_INFO("checkpoint sent follower=%s seq=%llu ms=%llu", pe->name, (unsigned long long)seq,
                (unsigned long long)((rs_clock_mono_ns() - t0) / 1000000u));
    *resynced = 1;
    return RS_OK;
}

/* IDENTIFY/WELCOME until the follower can stream (the listener ran the
 * handshake: the follower has proved it holds the key). */
static rs_code open_session(struct wal_peer *pe, struct start *out, rs_err *err)
{
    rs_wal_primary *p = pe->p;
    int resynced = 0;
    for (;;) {
        rs_wal_frame f;
        wal_identity id;
        rs_code rc;
        rc = wal_conn_expect(pe->conn, RS_WAL_FRAME_IDENTIFY, &f, p->cfg.timeout_ms, err);
        if (rc == RS_OK)
            rc = wal_identity_decode(f.payload, f.payload_len, &id, err);
        if (rc != RS_OK)
            return rc;
        if (id.name[0] != '\0')
            snprintf(pe->name, sizeof pe->name, "%s", id.name);
        struct start st = {0};
        if (decide(pe, &id, resynced, &st) != 0)
            return rs_err_set(err, RS_E_INVALID, "follower '%s' refused", pe->name);
        if (st.mode == WAL_MODE_STREAM) {
            *out = st;
            return send_welcome(pe, WAL_MODE_STREAM, err);
        }
        rc = send_checkpoint(pe, &resynced, err);
        if (rc != RS_OK)
            return rc;
    }
}

/* ---- acknowledgements ---------------------------------------------------- */

/* The version a follower at seq holds, until its first ack says: the
 * pruning floor counts it from the start. A follower below the readable
 * range (or before any commit) holds 0, and with it pruning, until it
 * catches up. */
static uint64_t version_at(rs_store *store, uint64_t seq)
{
    uint64_t version = 0;
    if (rs_store_version_at_seq(store, seq, &version, NULL, NULL) != RS_OK)
        return 0;
    return version;
}

static void remember(struct wal_peer *pe, const rs_wal_frame *f)
{
    pthread_mutex_lock(&pe->ring_mu);
    struct wal_sent *s = &pe->ring[pe->ring_n % WAL_RING];
    s->last_seq = f->first_seq + f->count - 1;
    s->time_ns = f->commit_time_ns;
    memcpy(s->chain, f->chain, RS_WAL_CHAIN_BYTES);
    pe->ring_n++;
    pthread_mutex_unlock(&pe->ring_mu);
}

/* Compares an acked chain value with the one shipped for that sequence.
 * The ring is in sequence order: a binary search finds the entry. Returns
 * -1 on a mismatch, 0 if equal or no longer remembered. */
static int check_ack_chain(struct wal_peer *pe, const wal_ack *a)
{
    int verdict = 0;
    pthread_mutex_lock(&pe->ring_mu);
    uint64_t lo = pe->ring_n > WAL_RING ? pe->ring_n - WAL_RING : 0, hi = pe->ring_n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (pe->ring[mid % WAL_RING].last_seq < a->applied_seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < pe->ring_n) {
        const struct wal_sent *s = &pe->ring[lo % WAL_RING];
        if (s->last_seq == a->applied_seq && sodium_memcmp(s->chain, a->chain, RS_WAL_CHAIN_BYTES) != 0)
            verdict = -1;
    }
    pthread_mutex_unlock(&pe->ring_mu);
    return verdict;
}

static rs_code on_ack(struct wal_peer *pe, const rs_wal_frame *f, rs_err *err)
{
    wal_ack a;
    rs_code rc = wal_ack_decode(f, &a, err);
    if (rc != RS_OK)
        return rc;
    if (check_ack_chain(pe, &a) != 0) {
        atomic_fetch_add(&pe->p->n_divergences, 1);
        atomic_store(&pe->diverged, 1);
        return rs_err_set(err, RS_E_CORRUPT, "follower '%s' acked seq %llu with a chain that differs from ours",
                          pe->name, (unsigned long long)a.applied_seq);
    }
    atomic_store(&pe->acked_version, a.applied_version);
    atomic_store(&pe->acked_seq, a.applied_seq);
    atomic_store(&pe->durable_seq, a.durable_seq);
    /* a follower that reconnects resumes after what it acknowledged */
    rs_wal_tail_release(pe->tail, a.applied_seq + 1);
    wal_primary_acks_changed(pe->p);
    return RS_OK;
}

/* Once per session (whoever sets pe->stop first says it). A message that
 * failed authentication is a transport fault, and possibly an attack: the
 * follower reconnects, and the operator sees it counted. */
static void say_disconnected(struct wal_peer *pe, const rs_err *err)
{
    if (!pe->conn->auth_failed) {
        RS_LOG_WARN("follower=%s disconnected: %s", pe->name, err->msg);
        return;
    }
    atomic_fetch_add(&pe->p->n_auth_failures, 1);
    RS_LOG_WARN("follower=%s disconnected: %s; possible tampering on the path (the follower reconnects)",
                pe->name, err->msg);
}

static void *ack_main(void *arg)
{
    struct wal_peer *pe = arg;
    rs_err err = RS_ERR_INIT;
    while (!atomic_load(&pe->stop)) {
        rs_wal_frame f;
        rs_code rc = wal_conn_recv(pe->conn, &f, pe->p->cfg.timeout_ms, &err);
        if (rc == RS_OK && f.type == RS_WAL_FRAME_ACK)
            rc = on_ack(pe, &f, &err);
        else if (rc == RS_OK && f.type == RS_WAL_FRAME_REFUSE)
            rc = wal_refusal_to_err(&f, &err);
        else if (rc == RS_OK && f.type != RS_WAL_FRAME_HEARTBEAT)
            rc = rs_err_set(&err, RS_E_PROTOCOL, "unexpected frame type %u", f.type);
        if (rc != RS_OK)
            break;
    }
    /* the session thread sees the flag within a heartbeat and says why to
     * the follower before it closes: the socket stays open until then */
    if (!atomic_exchange(&pe->stop, 1) && err.code != RS_OK)
        say_disconnected(pe, &err);
    return NULL;
}

/* ---- streaming ------------------------------------------------------------ */

struct stream {
    struct wal_peer   *pe;
    rs_wal_tail       *tail;
    uint64_t           sent;          /* last sequence queued */
    uint64_t           queued_since;  /* when the oldest unsent frame was queued, 0 if none */
    uint64_t           last_send_ns;  /* for heartbeats */
};

static rs_code ship_batch(struct stream *s, const rs_wal_frame *f, rs_err *err)
{
    remember(s->pe, f);
    rs_code rc = wal_conn_queue(s->pe->conn, f, err);
    if (rc != RS_OK)
        return rc;
    s->sent = f->first_seq + f->count - 1;
    atomic_store(&s->pe->sent_seq, s->sent);
    if (s->queued_since == 0)
        s->queued_since = rs_clock_mono_ns();
    return RS_OK;
}

static rs_code flush(struct stream *s, rs_err *err)
{
    s->queued_since = 0;
    s->last_send_ns = rs_clock_mono_ns();
    rs_code rc = wal_conn_flush(s->pe->conn, err);
    if (rc == RS_E_TIMEOUT) {
        atomic_fetch_add(&s->pe->p->n_slow_drops, 1);
        rs_err_hint(err, "the follower will reconnect and resume, or resync if the WAL moved past it");
    }
    return rc;
}

/* Sends batches until stopped or failed, the one read at the start first. */
static rs_code stream(struct stream *s, const struct start *st, rs_err *err)
{
    rs_wal_primary *p = s->pe->p;
    uint64_t in_pass = 0;
    if (st->have_first) {
        rs_code rc = ship_batch(s, &st->first, err);
        if (rc != RS_OK)
            return rc;
    }
    while (!atomic_load(&s->pe->stop)) {
        rs_wal_frame f;
        rs_code rc = rs_wal_tail_next(s->tail, &f, err);
        if (rc == RS_OK) {
            in_pass++;
            rc = ship_batch(s, &f, err);
            wal_conn *c = s->pe->conn;
            if (rc == RS_OK && (c->out_len >= FLUSH_BYTES || rs_clock_mono_ns() - s->queued_since >= FLUSH_NS))
                rc = flush(s, err);
        } else if (rc == RS_E_NOTFOUND) {
            rc = flush(s, err);
            if (rc == RS_OK && in_pass > 1)
                rs_clock_sleep_us(COALESCE_US);
            else if (rc == RS_OK && rs_wal_tail_wait(s->tail, p->cfg.heartbeat_ms) <= s->sent)
                rc = wal_send_heartbeat(s->pe->conn, rs_store_latest_seq(p->store), err);
            in_pass = 0;
        }
        if (rc != RS_OK)
            return rc;
    }
    return RS_OK;
}

/* The WAL moved past the follower, or its next batch was written
 * unchained: either way it must resync, and is told why. */
static void send_behind(struct wal_peer *pe, const rs_err *err)
{
    char msg[sizeof err->msg + 80];
    snprintf(msg, sizeof msg, "the primary cannot stream your next batch (%s): resync by checkpoint", err->msg);
    wal_send_refusal(pe->conn, WAL_REFUSE_BEHIND, msg);
}

static void end_session(struct wal_peer *pe, rs_err *err)
{
    if (atomic_load(&pe->diverged))
        wal_send_refusal(pe->conn, WAL_REFUSE_DIVERGED,
                         "your chain differs from the primary's: resync by checkpoint");
    else if (err->code == RS_E_GAP)
        send_behind(pe, err);
    if (!atomic_exchange(&pe->stop, 1) && err->code != RS_OK)
        say_disconnected(pe, err);
    wal_conn_shutdown(pe->conn);
    if (pe->ack_running)
        pthread_join(pe->ack_thread, NULL);
    atomic_store(&pe->done, 1);
    wal_primary_acks_changed(pe->p);
}

void *wal_peer_main(void *arg)
{
    struct wal_peer *pe = arg;
    rs_err err = RS_ERR_INIT;
    struct stream s = {.pe = pe};
    struct start st = {0};
    rs_code rc = open_session(pe, &st, &err);
    s.tail = st.tail;
    s.sent = st.from;
    pe->tail = st.tail; /* the ack thread moves its pin */
    if (rc == RS_OK) {
        atomic_fetch_add(&pe->p->n_accepted, 1);
        atomic_store(&pe->acked_version, version_at(pe->p->store, s.sent));
        atomic_store(&pe->acked_seq, s.sent);
        atomic_store(&pe->sent_seq, s.sent);
        atomic_store(&pe->state, RS_WAL_PEER_STREAMING);
        RS_LOG_INFO("follower=%s addr=%s streaming from seq=%llu", pe->name, pe->addr,
                    (unsigned long long)s.sent + 1);
        if (pthread_create(&pe->ack_thread, NULL, ack_main, pe) == 0) {
            pthread_setname_np(pe->ack_thread, "rs-acks");
            pe->ack_running = 1;
            wal_primary_acks_changed(pe->p);
            rc = stream(&s, &st, &err);
        } else {
            rc = rs_err_set(&err, RS_E_INTERNAL, "cannot start the ack thread");
        }
    }
    if (rc == RS_E_GAP)
        RS_LOG_WARN("follower=%s must resync by checkpoint: %s", pe->name, err.msg);
    end_session(pe, &err);
    rs_wal_tail_close(s.tail); /* after the ack thread, which moves its pin */
    pe->tail = NULL;
    return NULL;
}
