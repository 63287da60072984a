/*
 * The server's lifecycle and its event loop: one thread, epoll, level
 * triggered. Each turn handles the ready sockets, then (before sleeping)
 * asks the store for one fsync covering every write of the turn, sends what
 * may be sent, and frees the clients closed during the turn.
 *
 * Why our own epoll loop and not libuv or libevent: the loop needs exactly
 * three kinds of event (a listener, an eventfd, client sockets) and a
 * once-a-second timer, and its interesting part (parking replies until an
 * fsync, bounded buffers) is ours either way; about 200 lines of epoll keep
 * the buffering and the order of replies in plain sight, as Redis's ae.c does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cli/server_int.h"
#include "common/clock.h"
#include "common/log.h"

#define MAX_EVENTS 256
#define CRON_INTERVAL_NS 1000000000ull

void server_config_resolve(struct server_config *cfg)
{
    if (cfg->listen == NULL)
        cfg->listen = "127.0.0.1:6379";
    if (cfg->max_bulk == 0)
        cfg->max_bulk = 512ull << 20;
    if (cfg->max_args == 0)
        cfg->max_args = 1024 * 1024;
    if (cfg->max_request == 0)
        cfg->max_request = 1ull << 30;
    if (cfg->max_output == 0)
        cfg->max_output = 64ull << 20;
    if (cfg->max_clients == 0)
        cfg->max_clients = 10000;
    if (cfg->shutdown_timeout_s == 0)
        cfg->shutdown_timeout_s = 10;
}

/* ---- waking the loop -------------------------------------------------- */

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

rs_code server_hook_add(struct server *srv, server_hook_fn fn, void *arg, rs_err *err)
{
    if (srv->n_hooks == SERVER_MAX_HOOKS)
        return rs_err_set(err, RS_E_INTERNAL, "server: more than %d wake hooks", SERVER_MAX_HOOKS);
    srv->hooks[srv->n_hooks].fn = fn;
    srv->hooks[srv->n_hooks].arg = arg;
    srv->n_hooks++;
    return RS_OK;
}

static void on_wake(struct server *srv, struct server_io *io, uint32_t events)
{
    (void)events;
    uint64_t count = 0;
    ssize_t n = read(io->fd, &count, sizeof count);
    (void)n; /* EAGAIN: someone else's wake already drained it */
    for (size_t i = 0; i < srv->n_hooks; i++)
        srv->hooks[i].fn(srv, srv->hooks[i].arg);
}

/* Called by the store after each group fsync, on its syncer thread or a
 * writer's (see rs_store_sync_listen): only wakes the loop. */
static void on_store_synced(void *arg) { server_wake(arg); }

/* The loop's side of durability: learn the new synced sequence and let
 * the parked replies it covers go. */
static void durability_hook(struct server *srv, void *arg)
{
    (void)arg;
    uint64_t seq = 0;
    rs_err err = RS_ERR_INIT;
    if (rs_store_synced_seq(srv->store, &seq, &err) != RS_OK) {
        if (srv->store_failure.code == RS_OK) {
            srv->store_failure = err;
            RS_LOG_ERR("serve: stopping: the WAL could not be synced, so no write can be acknowledged: %s",
                       err.msg);
        }
        /* Their OKs were never sent and must not be: the connections drop,
         * as they would in a crash, and the clients do not count them. */
        while (srv->held != NULL)
            client_close(srv, srv->held, "write not durable");
        server_stop(srv);
        return;
    }
    srv->synced_seq = seq;
    client_release_synced(srv);
}

/* ---- the loop --------------------------------------------------------- */

static void cron(struct server *srv, uint64_t now)
{
    if (now - srv->last_cron_ns < CRON_INTERVAL_NS)
        return;
    srv->last_cron_ns = now;
    uint64_t idle_ns = srv->cfg.idle_timeout_s * 1000000000ull;
    if (idle_ns == 0)
        return;
    for (struct client *c = srv->clients; c != NULL; c = c->next) {
        /* a blocked client waits for us, not the other way round */
        if (!(c->flags & (CLIENT_CLOSED | CLIENT_BLOCKED)) && now - c->active_ns > idle_ns) {
            srv->stats.idle_disconnects++;
            client_close(srv, c, "idle timeout");
        }
    }
}

static void before_sleep(struct server *srv)
{
    if (srv->n_waiting > 0)
        server_repl_check_waits(srv);
    if (srv->last_write_seq > srv->requested_seq) {
        rs_store_sync_request(srv->store, srv->last_write_seq);
        srv->requested_seq = srv->last_write_seq;
    }
    while (srv->pending != NULL) {
        struct client *c = srv->pending;
        srv->pending = c->pending_next;
        c->flags &= ~CLIENT_PENDING;
        if (!(c->flags & CLIENT_CLOSED))
            client_flush(srv, c);
    }
    while (srv->closed != NULL) {
        struct client *c = srv->closed;
        srv->closed = c->closed_next;
        client_free(c);
    }
}

static void turn(struct server *srv, int timeout_ms)
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

static int has_unsent(const struct server *srv)
{
    for (const struct client *c = srv->clients; c != NULL; c = c->next)
        if (!(c->flags & CLIENT_CLOSED) && client_unsent(c) > 0)
            return 1;
    return 0;
}

/* Stop accepting and reading, then keep turning until every parked reply
 * is durable and sent, or the timeout passes. */
static void drain(struct server *srv)
{
    server_listener_close(srv);
    for (struct client *c = srv->clients; c != NULL; c = c->next)
        if (!(c->flags & CLIENT_CLOSED))
            client_stop_reading(srv, c);
    snapshot_job_cancel(srv); /* its client gets the error before it is closed */
    uint64_t deadline = rs_clock_mono_ns() + srv->cfg.shutdown_timeout_s * 1000000000ull;
    while (srv->store_failure.code == RS_OK &&
           (srv->n_held > 0 || has_unsent(srv) || snapshot_job_running(srv))) {
        if (rs_clock_mono_ns() > deadline) {
            RS_LOG_WARN("serve: shutdown timeout: closing clients=%zu with replies unsent parked=%zu",
                        srv->n_clients, srv->n_held);
            break;
        }
        turn(srv, 10);
    }
    while (srv->clients != NULL)
        client_close(srv, srv->clients, "shutdown");
    before_sleep(srv);
}

rs_code server_run(struct server *srv, rs_err *err)
{
    RS_LOG_INFO("serve: ready addr=%s db=%s sync=%s", srv->address, rs_store_path(srv->store),
                rs_store_sync_name(rs_store_config_get(srv->store)->sync));
    if (rs_store_is_versioned(srv->store) && !srv->read_only)
        RS_LOG_INFO("serve: the database holds versioned state version=%llu: serving it read-only for plain "
                    "writes (SET, DEL, INCR, ... are refused; only versioned commits write it)",
                    (unsigned long long)rs_store_version_latest(srv->store));
    while (!atomic_load(&srv->stopping))
        turn(srv, 100);
    RS_LOG_INFO("serve: shutting down clients=%zu parked=%zu", srv->n_clients, srv->n_held);
    drain(srv);
    if (srv->store_failure.code != RS_OK) {
        if (err != NULL && err->code == RS_OK)
            *err = srv->store_failure;
        return srv->store_failure.code;
    }
    return RS_OK;
}

/* ---- create and destroy ----------------------------------------------- */

static rs_code init_loop(struct server *srv, rs_err *err)
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

rs_code server_create(const struct server_config *cfg, rs_store *store, struct server **out, rs_err *err)
{
    struct server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return rs_err_set(err, RS_E_NOMEM, "serve: out of memory");
    srv->cfg = *cfg;
    server_config_resolve(&srv->cfg);
    srv->store = store;
    srv->read_only = srv->cfg.read_only;
    srv->epfd = srv->listener.fd = srv->waker.fd = -1;
    srv->started_ns = srv->last_cron_ns = rs_clock_mono_ns();
    srv->last_write_seq = srv->requested_seq = rs_store_latest_seq(store);
    rs_code rc = server_cmds_init(err);
    if (rc == RS_OK)
        rc = rs_store_batch_create(&srv->batch, err);
    if (rc == RS_OK)
        rc = scan_cursors_create(&srv->cursors, err);
    if (rc == RS_OK)
        rc = init_loop(srv, err);
    if (rc == RS_OK)
        rc = server_hook_add(srv, durability_hook, NULL, err);
    if (rc == RS_OK)
        rc = snapshot_job_create(srv, err);
    if (rc == RS_OK)
        rc = rs_store_synced_seq(store, &srv->synced_seq, err);
    if (rc == RS_OK)
        rc = server_listener_open(srv, err);
    if (rc != RS_OK) {
        server_destroy(srv);
        return rc;
    }
    rs_store_sync_listen(store, on_store_synced, srv);
    *out = srv;
    return RS_OK;
}

void server_destroy(struct server *srv)
{
    if (srv == NULL)
        return;
    /* a barrier: after it the syncer never calls on_store_synced again */
    rs_store_sync_listen(srv->store, NULL, NULL);
    snapshot_job_destroy(srv); /* it uses the store, which closes after us */
    while (srv->clients != NULL)
        client_close(srv, srv->clients, "shutdown");
    while (srv->closed != NULL) {
        struct client *c = srv->closed;
        srv->closed = c->closed_next;
        client_free(c);
    }
    server_listener_close(srv);
    if (srv->waker.fd >= 0)
        close(srv->waker.fd);
    if (srv->epfd >= 0)
        close(srv->epfd);
    scan_cursors_destroy(srv->cursors);
    rs_store_batch_destroy(srv->batch);
    free(srv);
}

const char *server_address(const struct server *srv) { return srv->address; }
