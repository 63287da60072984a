/*
 * An instance's event loop: one thread, epoll, level triggered. Each turn
 * handles the ready sockets, then (before sleeping) polls the jobs, asks
 * the store for one fsync covering every write of the turn, sends what may
 * be sent, and frees the clients closed during the turn. The loop knows
 * three kinds of event (listeners, an eventfd, clients); background work
 * reaches it only through the job table (jobs.c) and server_wake().
 *
 * Why our own epoll loop and not libuv or libevent: the loop needs exactly
 * those three kinds of event and a once-a-second timer, and its
 * interesting part (parking replies until an fsync, bounded buffers) is
 * ours either way; a few hundred lines of epoll keep the buffering and the
 * order of replies in plain sight, as Redis's ae.c does.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/server_int.h"

#define MAX_EVENTS 256
#define CRON_INTERVAL_NS 1000000000ull

/* ---- waking the loop ------------------------------------------------------ */

void server_wake(struct server *srv)
{
    uint64_t one = 1;
    /* an eventfd write only fails when the counter would overflow, and
     * then the loop is already due to wake */
    ssize_t n = write(srv->waker.fd, &one, sizeof one);
    (void)n;
}

void server_stop(struct server *srv)
{
    atomic_store(&srv->stopping, 1);
    server_wake(srv);
}

/* Someone woke us: the store synced, or a job's thread has news; the jobs
 * are polled before the loop sleeps. */
static void on_wake(struct server *srv, struct server_io *io, uint32_t events)
{
    (void)events;
    uint64_t count = 0;
    ssize_t n = read(io->fd, &count, sizeof count);
    (void)n; /* EAGAIN: someone else's wake already drained it */
    server_durability_check(srv);
}

/* ---- a turn --------------------------------------------------------------- */

static void cron(struct server *srv, uint64_t now)
{
    if (now - srv->last_cron_ns < CRON_INTERVAL_NS)
        return;
    srv->last_cron_ns = now;
    uint64_t idle_ns = srv->cfg->idle_timeout_s * 1000000000ull;
    if (idle_ns == 0)
        return;
    for (struct client *c = srv->clients, *next; c != NULL; c = next) {
        next = c->next;
        /* a blocked client waits for us, not the other way round */
        if (!(c->flags & (CLIENT_CLOSED | CLIENT_BLOCKED)) && now - c->active_ns > idle_ns) {
            srv->stats.idle_disconnects++;
            server_client_close(srv, c, "idle timeout");
        }
    }
}

static void before_sleep(struct server *srv)
{
    server_jobs_poll(srv);
    if (srv->last_write_seq > srv->requested_seq) {
        rs_store_sync_request(srv->store, srv->last_write_seq);
        srv->requested_seq = srv->last_write_seq;
    }
    while (srv->pending != NULL) {
        struct client *c = srv->pending;
        srv->pending = c->pending_next;
        c->flags &= ~CLIENT_PENDING;
        if (!(c->flags & CLIENT_CLOSED))
            server_client_flush(srv, c);
    }
    while (srv->closed != NULL) {
        struct client *c = srv->closed;
        srv->closed = c->closed_next;
        server_client_free(c);
    }
}

void server_turn(struct server *srv, int timeout_ms)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(srv->epfd, evs, MAX_EVENTS, timeout_ms);
    for (int i = 0; i < n; i++) {
        struct server_io *io = evs[i].data.ptr;
        io->on_event(srv, io, evs[i].events);
    }
    cron(srv, rs_clock_mono_ns());
    before_sleep(srv);
}

/* ---- running and stopping --------------------------------------------------- */

static int has_unsent(const struct server *srv)
{
    for (const struct client *c = srv->clients; c != NULL; c = c->next)
        if (!(c->flags & CLIENT_CLOSED) && server_client_unsent(c) > 0)
            return 1;
    return 0;
}

/* Stop accepting and reading, then keep turning until every parked reply
 * is durable and sent and no job is busy, or the timeout passes. */
static void drain(struct server *srv)
{
    server_listeners_close(srv);
    for (struct client *c = srv->clients; c != NULL; c = c->next)
        if (!(c->flags & CLIENT_CLOSED))
            server_client_stop_reading(srv, c);
    server_jobs_cancel(srv); /* their clients get the error before they are closed */
    uint64_t deadline = rs_clock_mono_ns() + srv->cfg->shutdown_timeout_s * 1000000000ull;
    while (srv->store_failure.code == RS_OK && (srv->n_held > 0 || has_unsent(srv) || server_jobs_busy(srv))) {
        if (rs_clock_mono_ns() > deadline) {
            RS_LOG_WARN("serve: shutdown timeout: closing clients=%zu with replies unsent parked=%zu",
                        srv->n_clients, srv->n_held);
            break;
        }
        server_turn(srv, 10);
    }
    while (srv->clients != NULL)
        server_client_close(srv, srv->clients, "shutdown");
    before_sleep(srv);
}

rs_code server_run(struct server *srv, rs_err *err)
{
    RS_LOG_INFO("serve: ready addr=%s db=%s sync=%s", srv->listeners[0].address, rs_store_path(srv->store),
                rs_store_sync_name(rs_store_config_get(srv->store)->sync));
    if (srv->n_listeners > 1)
        RS_LOG_INFO("serve: ready for TLS addr=%s", srv->listeners[1].address);
    if (rs_store_is_versioned(srv->store) && !srv->read_only)
        RS_LOG_INFO("serve: the database holds versioned state version=%llu: serving it read-only for plain "
                    "writes (SET, DEL, INCR, ... are refused; only versioned commits write it)",
                    (unsigned long long)rs_store_version_latest(srv->store));
    while (!atomic_load(&srv->stopping))
        server_turn(srv, 100);
    RS_LOG_INFO("serve: shutting down clients=%zu parked=%zu", srv->n_clients, srv->n_held);
    drain(srv);
    if (srv->store_failure.code != RS_OK) {
        if (err != NULL && err->code == RS_OK)
            *err = srv->store_failure;
        return srv->store_failure.code;
    }
    return RS_OK;
}

/* ---- the epoll set ----------------------------------------------------------- */

rs_code server_loop_open(struct server *srv, rs_err *err)
{
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (srv->epfd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "serve: create epoll");
    srv->waker.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->waker.fd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "serve: create eventfd");
    srv->waker.on_event = on_wake;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &srv->waker};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->waker.fd, &ev) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "serve: watch eventfd");
    return RS_OK;
}

void server_loop_close(struct server *srv)
{
    if (srv->waker.fd >= 0)
        close(srv->waker.fd);
    if (srv->epfd >= 0)
        close(srv->epfd);
    srv->waker.fd = srv->epfd = -1;
}
