/*
 * The primary: a listener thread authenticates followers (admit.c) and
 * gives each that did its own session thread (ship_session.c) with its own
 * WAL tail, bounded send queue and send deadline, so a slow follower never
 * holds up the primary's writes or another follower. Here: start/stop, the
 * follower table, the statistics, and WAIT (blocking, or an eventfd for an
 * event loop).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "wal/wal_int.h"

static void config_resolve(rs_wal_primary_config *c)
{
    if (c->heartbeat_ms == 0)
        c->heartbeat_ms = 500;
    if (c->timeout_ms == 0)
        c->timeout_ms = 5000;
    if (c->send_deadline_ms == 0)
        c->send_deadline_ms = 5000;
    if (c->queue_bytes == 0)
        c->queue_bytes = 4u << 20;
    if (c->resync_bytes_per_sec == 0)
        c->resync_bytes_per_sec = 100u << 20;
    if (c->max_followers == 0)
        c->max_followers = 16;
    if (c->handshake_ms == 0)
        c->handshake_ms = 2000;
    if (c->max_handshakes == 0)
        c->max_handshakes = 32;
}

/* ---- sessions ---------------------------------------------------------- */

static void peer_free(struct wal_peer *pe)
{
    pthread_join(pe->ship_thread, NULL);
    rs_wal_primary *p = pe->p;
    atomic_fetch_add(&p->frames_sent_done, pe->conn != NULL ? atomic_load(&pe->conn->frames_sent) : 0);
    atomic_fetch_add(&p->bytes_sent_done, pe->conn != NULL ? atomic_load(&pe->conn->bytes_sent) : 0);
    wal_conn_close(pe->conn);
    pthread_mutex_destroy(&pe->ring_mu);
    free(pe);
}

void wal_primary_reap(rs_wal_primary *p, int all)
{
    pthread_mutex_lock(&p->mu);
    struct wal_peer **link = &p->peers, *dead = NULL;
    while (*link != NULL) {
        struct wal_peer *pe = *link;
        if (all) {
            atomic_store(&pe->stop, 1);
            wal_conn_shutdown(pe->conn);
        }
        if (all || atomic_load(&pe->done)) {
            *link = pe->next;
            pe->next = dead;
            dead = pe;
        } else {
            link = &pe->next;
        }
    }
    pthread_mutex_unlock(&p->mu);
    while (dead != NULL) {
        struct wal_peer *next = dead->next;
        peer_free(dead);
        dead = next;
    }
    if (all)
        wal_primary_acks_changed(p);
}

/* Under p->mu: the sessions not yet ended. */
static size_t n_live_locked(rs_wal_primary *p)
{
    size_t n = 0;
    for (struct wal_peer *pe = p->peers; pe != NULL; pe = pe->next)
        n += !atomic_load(&pe->done);
    return n;
}

void wal_primary_start_session(rs_wal_primary *p, wal_conn *c)
{
    pthread_mutex_lock(&p->mu);
    size_t live = n_live_locked(p);
    pthread_mutex_unlock(&p->mu);
    /* only the listener adds sessions: the count cannot grow meanwhile */
    if (live >= p->cfg.max_followers) {
        wal_send_refusal(c, WAL_REFUSE_BUSY, "too many followers");
        RS_LOG_WARN("follower=%s refused: too many followers (max %u)", c->peer, p->cfg.max_followers);
        atomic_fetch_add(&p->n_refused, 1);
        wal_conn_close(c);
        return;
    }
    struct wal_peer *pe = calloc(1, sizeof *pe);
    if (pe == NULL) {
        RS_LOG_ERR("follower=%s dropped: out of memory", c->peer);
        wal_conn_close(c);
        return;
    }
    pe->p = p;
    pe->conn = c;
    snprintf(pe->addr, sizeof pe->addr, "%s", c->peer);
    snprintf(pe->name, sizeof pe->name, "%s", c->peer);
    pthread_mutex_init(&pe->ring_mu, NULL);
    if (pthread_create(&pe->ship_thread, NULL, wal_peer_main, pe) != 0) {
        RS_LOG_ERR("follower=%s dropped: cannot start its thread", c->peer);
        wal_conn_close(pe->conn);
        pthread_mutex_destroy(&pe->ring_mu);
        free(pe);
        return;
    }
    pthread_setname_np(pe->ship_thread, "rs-ship");
    pthread_mutex_lock(&p->mu);
    pe->next = p->peers;
    p->peers = pe;
    pthread_mutex_unlock(&p->mu);
}

/* ---- start / stop ------------------------------------------------------- */

static char *default_work_dir(rs_store *store)
{
    char *dir = NULL;
    if (asprintf(&dir, "%s.repl", rs_store_path(store)) < 0)
        return NULL;
    return dir;
}

rs_code rs_wal_primary_start(rs_store *store, const rs_wal_primary_config *cfg, rs_wal_primary **out, rs_err *err)
{
    if (cfg == NULL || cfg->listen_addr == NULL)
        return rs_err_set(err, RS_E_INVALID, "replication: no listen address given");
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    /* before any follower is served: every batch written from here on is
     * chained, so a follower bootstrapped now can check each one */
    rs_store_set_chained(store, 1);
    rs_wal_primary *p = calloc(1, sizeof *p);
    if (p == NULL)
        return rs_err_set(err, RS_E_NOMEM, "replication: out of memory");
    p->store = store;
    p->cfg = *cfg;
    config_resolve(&p->cfg);
    p->listen_addr = strdup(cfg->listen_addr);
    p->work_dir = cfg->work_dir != NULL ? strdup(cfg->work_dir) : default_work_dir(store);
    p->cfg.listen_addr = p->listen_addr;
    p->cfg.work_dir = p->work_dir;
    p->lfd = -1;
    if (p->work_dir != NULL)
        wal_ckpt_sweep(p->work_dir);
    p->ack_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->acked, NULL);
    rs_code rc = p->listen_addr == NULL || p->work_dir == NULL
                     ? rs_err_set(err, RS_E_NOMEM, "replication: out of memory")
                 : p->ack_fd < 0 ? rs_err_sys(err, RS_E_IO, errno, "replication: eventfd")
                                 : wal_net_listen(p->listen_addr, &p->lfd, &p->port, err);
    if (rc == RS_OK && pthread_create(&p->listener, NULL, wal_listener_main, p) != 0)
        rc = rs_err_set(err, RS_E_INTERNAL, "replication: cannot start the listener thread");
    if (rc != RS_OK) {
        if (p->lfd >= 0)
            close(p->lfd);
        p->lfd = -1;
        atomic_store(&p->stopping, 2); /* no listener to join */
        rs_wal_primary_stop(p);
        return rc;
    }
    pthread_setname_np(p->listener, "rs-repl-listen");
    RS_LOG_INFO("replication primary listening addr=%s port=%u", p->listen_addr, p->port);
    *out = p;
    return RS_OK;
}

void rs_wal_primary_stop(rs_wal_primary *p)
{
    if (p == NULL)
        return;
    if (atomic_exchange(&p->stopping, 1) == 0)
        pthread_join(p->listener, NULL);
    /* no follower is connected any more: none holds pruning */
    rs_store_follower_version_clear(p->store);
    if (p->lfd >= 0)
        close(p->lfd);
    if (p->ack_fd >= 0)
        close(p->ack_fd);
    pthread_cond_destroy(&p->acked);
    pthread_mutex_destroy(&p->mu);
    sodium_memzero(&p->cfg.key, sizeof p->cfg.key);
    free(p->listen_addr);
    free(p->work_dir);
    free(p);
}

uint16_t rs_wal_primary_port(const rs_wal_primary *p) { return p->port; }

/* ---- the follower table and statistics -------------------------------- */

static uint64_t lag_ms_of(struct wal_peer *pe, uint64_t acked)
{
    uint64_t oldest = 0;
    pthread_mutex_lock(&pe->ring_mu);
    uint64_t first = pe->ring_n > WAL_RING ? pe->ring_n - WAL_RING : 0;
    for (uint64_t i = first; i < pe->ring_n; i++) {
        const struct wal_sent *s = &pe->ring[i % WAL_RING];
        if (s->last_seq > acked) {
            oldest = s->time_ns;
            break;
        }
    }
    pthread_mutex_unlock(&pe->ring_mu);
    uint64_t now = rs_clock_wall_ns();
    return oldest == 0 || oldest > now ? 0 : (now - oldest) / 1000000u;
}

size_t rs_wal_primary_followers(rs_wal_primary *p, rs_wal_follower_info *out, size_t max)
{
    uint64_t latest = rs_store_latest_seq(p->store);
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (struct wal_peer *pe = p->peers; pe != NULL; pe = pe->next) {
        if (atomic_load(&pe->done))
            continue;
        if (n < max) {
            rs_wal_follower_info *fi = &out[n];
            memset(fi, 0, sizeof *fi);
            snprintf(fi->name, sizeof fi->name, "%s", pe->name);
            snprintf(fi->addr, sizeof fi->addr, "%s", pe->addr);
            fi->state = (rs_wal_peer_state)atomic_load(&pe->state);
            fi->sent_seq = atomic_load(&pe->sent_seq);
            fi->acked_seq = atomic_load(&pe->acked_seq);
            fi->acked_version = atomic_load(&pe->acked_version);
            fi->durable_seq = atomic_load(&pe->durable_seq);
            fi->lag_seqs = latest > fi->acked_seq ? latest - fi->acked_seq : 0;
            fi->lag_ms = lag_ms_of(pe, fi->acked_seq);
        }
        n++;
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}

void rs_wal_primary_stats_get(rs_wal_primary *p, rs_wal_primary_stats *out)
{
    memset(out, 0, sizeof *out);
    out->n_accepted = atomic_load(&p->n_accepted);
    out->n_refused = atomic_load(&p->n_refused);
    out->n_checkpoints = atomic_load(&p->n_checkpoints);
    out->n_divergences = atomic_load(&p->n_divergences);
    out->n_slow_drops = atomic_load(&p->n_slow_drops);
    out->n_unauth_dropped = atomic_load(&p->n_unauth_dropped);
    out->n_auth_failures = atomic_load(&p->n_auth_failures);
    out->frames_sent = atomic_load(&p->frames_sent_done);
    out->bytes_sent = atomic_load(&p->bytes_sent_done);
    pthread_mutex_lock(&p->mu);
    for (struct wal_peer *pe = p->peers; pe != NULL; pe = pe->next) {
        out->n_connected += !atomic_load(&pe->done) && atomic_load(&pe->state) == RS_WAL_PEER_STREAMING;
        out->frames_sent += atomic_load(&pe->conn->frames_sent);
        out->bytes_sent += atomic_load(&pe->conn->bytes_sent);
    }
    pthread_mutex_unlock(&p->mu);
}

/* ---- WAIT, and the pruning floor --------------------------------------- */

/* Under p->mu: pruning of the versioned state must never pass the version
 * the slowest streaming follower has applied (docs/versioned-state.md,
 * "The floor"); with none streaming, followers hold nothing. A follower
 * being sent a checkpoint does not count: it gets the checkpoint's
 * versions, then the stream from there. */
static void follower_floor_update_locked(rs_wal_primary *p)
{
    int any = 0;
    uint64_t slowest = 0;
    for (struct wal_peer *pe = p->peers; pe != NULL; pe = pe->next) {
        if (atomic_load(&pe->done) || atomic_load(&pe->state) != RS_WAL_PEER_STREAMING)
            continue;
        uint64_t v = atomic_load(&pe->acked_version);
        if (!any || v < slowest)
            slowest = v;
        any = 1;
    }
    if (any)
        rs_store_follower_version_set(p->store, slowest);
    else
        rs_store_follower_version_clear(p->store);
}

void wal_primary_acks_changed(rs_wal_primary *p)
{
    pthread_mutex_lock(&p->mu);
    follower_floor_update_locked(p);
    pthread_cond_broadcast(&p->acked);
    pthread_mutex_unlock(&p->mu);
    uint64_t one = 1;
    if (write(p->ack_fd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is full, the reader is woken anyway */
    }
    if (p->cfg.acked_fn != NULL)
        p->cfg.acked_fn(p->cfg.acked_arg);
}

static int count_locked(rs_wal_primary *p, uint64_t seq)
{
    int n = 0;
    for (struct wal_peer *pe = p->peers; pe != NULL; pe = pe->next)
        n += !atomic_load(&pe->done) && atomic_load(&pe->state) == RS_WAL_PEER_STREAMING &&
             atomic_load(&pe->acked_seq) >= seq;
    return n;
}

int rs_wal_primary_count_acked(rs_wal_primary *p, uint64_t seq)
{
    pthread_mutex_lock(&p->mu);
    int n = count_locked(p, seq);
    pthread_mutex_unlock(&p->mu);
    return n;
}

int rs_wal_primary_wait(rs_wal_primary *p, uint64_t seq, int n, uint64_t timeout_ms)
{
    struct timespec until = rs_clock_deadline_ts(timeout_ms);
    pthread_mutex_lock(&p->mu);
    int got;
    while ((got = count_locked(p, seq)) < n && timeout_ms > 0)
        if (pthread_cond_timedwait(&p->acked, &p->mu, &until) != 0)
            break;
    got = count_locked(p, seq);
    pthread_mutex_unlock(&p->mu);
    return got;
}

int rs_wal_primary_ack_fd(const rs_wal_primary *p) { return p->ack_fd; }

void rs_wal_primary_ack_fd_drain(rs_wal_primary *p)
{
    uint64_t v;
    while (read(p->ack_fd, &v, sizeof v) > 0) {
    }
}
