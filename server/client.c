/*
 * One client connection, as Redis's networking.c: reading and parsing its
 * requests, its output buffer and the bound on it, and the replies parked
 * until the writes before them are durable. Bytes travel through the
 * connection's transport (conn.h), TCP or TLS alike; commands run in
 * dispatch.c.
 *
 * Order is the contract: replies leave in the order the requests came, so
 * a parked reply holds back every reply queued after it on the same
 * connection (they sit in the buffer behind hold_off), while other
 * connections go on being served.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/cmd.h"

/* Bytes asked of read() at a time, unless a large argument is arriving. */
#define READ_CHUNK (64 * 1024)
/* An idle connection keeps at most this much buffer memory. */
#define IDLE_BUF_KEEP (1024 * 1024)
/* Before AUTH, a request is small (Redis's limits for unauthenticated
 * clients): whoever does not know the password cannot make the server
 * allocate more than this per connection. */
#define NOAUTH_MAX_ARGS 10
#define NOAUTH_MAX_BULK (16 * 1024)

static void client_on_event(struct server *srv, struct server_io *io, uint32_t events);

rs_code server_client_create(struct server *srv, int fd, const char *addr, struct server_tls *tls, rs_err *err)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    rs_code rc = RS_OK;
    if (tls != NULL)
        rc = server_conn_tls(&c->conn, fd, tls, err);
    else
        server_conn_tcp(&c->conn, fd);
    if (rc != RS_OK) {
        free(c);
        return rc;
    }
    c->io.fd = fd;
    c->io.on_event = client_on_event;
    c->id = ++srv->next_client_id;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->created_ns = c->active_ns = rs_clock_mono_ns();
    if (!srv->setup->has_password)
        c->flags |= CLIENT_AUTHENTICATED;
    c->events = EPOLLIN;
    server_resp_parser_init(&c->parser);
    struct epoll_event ev = {.events = c->events, .data.ptr = &c->io};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        rc = rs_err_sys(err, RS_E_IO, errno, "watch connection");
        c->conn.ops->close(&c->conn);
        server_client_free(c);
        return rc;
    }
    c->next = srv->clients;
    if (srv->clients != NULL)
        srv->clients->prev = c;
    srv->clients = c;
    srv->n_clients++;
    RS_LOG_DEBUG("serve: client connected id=%llu addr=%s transport=%s", (unsigned long long)c->id, c->addr,
                 c->conn.ops->name);
    return RS_OK;
}

void server_client_free(struct client *c)
{
    if (c == NULL)
        return;
    server_resp_buf_release(&c->in);
    server_resp_buf_release(&c->out);
    server_resp_parser_release(&c->parser);
    free(c->name);
    free(c);
}

static void unhold(struct server *srv, struct client *c)
{
    if (!c->held)
        return;
    c->held = 0;
    if (c->held_prev != NULL)
        c->held_prev->held_next = c->held_next;
    else
        srv->held = c->held_next;
    if (c->held_next != NULL)
        c->held_next->held_prev = c->held_prev;
    c->held_prev = c->held_next = NULL;
    srv->n_held--;
}

void server_client_close(struct server *srv, struct client *c, const char *why)
{
    if (c->flags & CLIENT_CLOSED)
        return;
    RS_LOG_DEBUG("serve: client closed id=%llu addr=%s why=\"%s\"", (unsigned long long)c->id, c->addr, why);
    unhold(srv, c);
    if (srv->gets.c == c)
        srv->gets.n = 0; /* no one to answer */
    if (c->flags & CLIENT_IN_WAIT)
        srv->n_waiting--;
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->io.fd, NULL);
    c->conn.ops->close(&c->conn);
    c->io.fd = -1;
    c->flags |= CLIENT_CLOSED;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    srv->n_clients--;
    /* other events of this turn may still point at c: free it later */
    c->closed_next = srv->closed;
    srv->closed = c;
}

size_t server_client_unsent(const struct client *c) { return c->out.len - c->out.off; }

int server_client_close_if_over_output(struct server *srv, struct client *c)
{
    if (server_client_unsent(c) <= srv->cfg->max_output)
        return 0;
    /* it asks for more while not reading what it has: a stalled or
     * runaway client must not grow the server's memory without end */
    srv->stats.output_limit_disconnects++;
    RS_LOG_INFO("serve: closing client id=%llu addr=%s: %zu reply bytes unsent exceed max-output %llu",
                (unsigned long long)c->id, c->addr, server_client_unsent(c), (unsigned long long)srv->cfg->max_output);
    server_client_close(srv, c, "output buffer limit");
    return 1;
}

/* ---- what epoll watches ------------------------------------------------- */

/* Reply bytes that may go out now: not those parked behind hold_off. */
static size_t sendable(const struct client *c) { return (c->held ? c->hold_off : c->out.len) - c->out.off; }

/* Reading stops for a blocked client (what it sends meanwhile waits in the
 * socket, not in our memory), after QUIT or a protocol error, and at
 * shutdown. The transport may add the other direction (TLS). */
static void update_events(struct server *srv, struct client *c)
{
    if (c->flags & CLIENT_CLOSED)
        return;
    uint32_t want = sendable(c) > 0 ? EPOLLOUT : 0;
    if (!(c->flags & (CLIENT_NO_READ | CLIENT_CLOSE_AFTER_REPLY | CLIENT_BLOCKED)))
        want |= EPOLLIN;
    uint32_t events = c->conn.ops->watch(&c->conn, want);
    if (events == c->events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = &c->io};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->io.fd, &ev) == 0)
        c->events = events;
}

static int reading(const struct client *c)
{
    return !(c->flags & (CLIENT_CLOSED | CLIENT_NO_READ | CLIENT_CLOSE_AFTER_REPLY | CLIENT_BLOCKED));
}

void server_client_pending(struct server *srv, struct client *c)
{
    if (c->flags & (CLIENT_PENDING | CLIENT_CLOSED))
        return;
    c->flags |= CLIENT_PENDING;
    c->pending_next = srv->pending;
    srv->pending = c;
}

void server_client_stop_reading(struct server *srv, struct client *c)
{
    c->flags |= CLIENT_NO_READ;
    update_events(srv, c);
}

/* ---- parked replies ------------------------------------------------------ */

void server_client_hold(struct server *srv, struct client *c, size_t off, uint64_t seq)
{
    if (seq <= srv->synced_seq || (c->flags & CLIENT_CLOSED))
        return;
    if (!c->held) {
        c->held = 1;
        c->hold_off = off;
        c->held_prev = NULL;
        c->held_next = srv->held;
        if (srv->held != NULL)
            srv->held->held_prev = c;
        srv->held = c;
        srv->n_held++;
    }
    if (off < c->hold_off)
        c->hold_off = off; /* nothing is sent while requests run, so it is all still here */
    /* one connection's writes come in order, so one fsync up to the last
     * of them releases all its parked replies at once */
    if (seq > c->hold_seq)
        c->hold_seq = seq;
    srv->stats.replies_parked++;
}

void server_client_release_synced(struct server *srv)
{
    struct client *c = srv->held;
    while (c != NULL) {
        struct client *next = c->held_next;
        if (c->hold_seq <= srv->synced_seq) {
            unhold(srv, c);
            server_client_pending(srv, c);
        }
        c = next;
    }
}

/* ---- sending --------------------------------------------------------------- */

static void shrink_if_idle(struct resp_buf *b)
{
    if (b->off == b->len && b->cap > IDLE_BUF_KEEP)
        server_resp_buf_release(b);
}

void server_client_flush(struct server *srv, struct client *c)
{
    while (sendable(c) > 0) {
        ssize_t n = server_conn_write(&c->conn, c->out.data + c->out.off, sendable(c));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            server_client_close(srv, c, n == 0 ? "peer closed" : c->conn.error);
            return;
        }
        c->out.off += (size_t)n;
        srv->stats.net_output_bytes += (uint64_t)n;
        c->active_ns = rs_clock_mono_ns();
    }
    if (c->out.off == c->out.len) {
        c->out.off = c->out.len = 0;
        shrink_if_idle(&c->out);
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
            server_client_close(srv, c, "closed after reply");
            return;
        }
    } else if (c->out.off > c->out.cap / 2) {
        size_t shift = server_resp_buf_compact(&c->out);
        if (c->held)
            c->hold_off -= shift;
    }
    update_events(srv, c);
}

/* ---- receiving ---------------------------------------------------------------- */

static void protocol_error(struct server *srv, struct client *c, const char *msg)
{
    srv->stats.protocol_errors++;
    RS_LOG_INFO("serve: closing client id=%llu addr=%s: %s", (unsigned long long)c->id, c->addr, msg);
    server_resp_add_error(&c->out, msg);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    update_events(srv, c);
}

static struct resp_limits limits(const struct server *srv, const struct client *c)
{
    if (!(c->flags & CLIENT_AUTHENTICATED))
        return (struct resp_limits){.max_bulk = NOAUTH_MAX_BULK, .max_args = NOAUTH_MAX_ARGS};
    return (struct resp_limits){.max_bulk = srv->cfg->max_bulk, .max_args = srv->cfg->max_args};
}

static void run_requests(struct server *srv, struct client *c)
{
    while (reading(c)) {
        /* per request: an AUTH lifts the limits for what follows it */
        const struct resp_limits lim = limits(srv, c);
        const uint8_t *base = c->in.data + c->in.off;
        enum resp_status st = server_resp_parse(&c->parser, base, c->in.len - c->in.off, &lim);
        if (st == RESP_MORE)
            break;
        if (st == RESP_ERROR) {
            server_flush_reads(srv);
            char msg[160];
            snprintf(msg, sizeof msg, "ERR %s", c->parser.error);
            protocol_error(srv, c, msg);
            break;
        }
        if (st == RESP_DONE)
            server_dispatch(srv, c, base, c->parser.args, c->parser.n_args);
        c->in.off += c->parser.pos;
        server_resp_parser_next(&c->parser);
    }
    /* before any other client runs, so that it reads these writes (the
     * gathered reads first: they were asked before any write still
     * gathered) */
    server_flush_reads(srv);
    server_flush_writes(srv);
    if (c->in.off == c->in.len) {
        c->in.off = c->in.len = 0;
        shrink_if_idle(&c->in);
    } else {
        server_resp_buf_compact(&c->in); /* a partial request moves to the front once */
    }
    if (!(c->flags & CLIENT_CLOSED) && server_client_unsent(c) > 0)
        server_client_pending(srv, c);
}

/* One read, and the requests it completes. Returns 1 if bytes came. */
static int read_once(struct server *srv, struct client *c)
{
    size_t want = READ_CHUNK;
    size_t need = server_resp_parser_need(&c->parser);
    if (need > want)
        want = need; /* a large argument: read it in as few calls as possible */
    if (c->in.len - c->in.off + want > srv->cfg->max_request + READ_CHUNK) {
        protocol_error(srv, c, "ERR request exceeds max-request bytes");
        return 0;
    }
    if (server_resp_buf_reserve(&c->in, want) != 0) {
        server_client_close(srv, c, "out of memory for the request");
        return 0;
    }
    ssize_t n = server_conn_read(&c->conn, c->in.data + c->in.len, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        update_events(srv, c); /* a TLS handshake may want to write */
        return 0;
    }
    if (n <= 0) {
        if (n < 0 && c->conn.ops->handshaking(&c->conn)) {
            srv->stats.tls_handshake_failures++;
            RS_LOG_INFO("serve: TLS handshake failed addr=%s: %s", c->addr, c->conn.error);
        }
        server_client_close(srv, c, n == 0 ? "peer closed" : c->conn.error);
        return 0;
    }
    c->in.len += (size_t)n;
    srv->stats.net_input_bytes += (uint64_t)n;
    c->active_ns = rs_clock_mono_ns();
    run_requests(srv, c);
    return 1;
}

/* Reads until the socket is empty for now. A TLS transport may hold
 * decrypted bytes that no event will announce: they are read here. */
static void client_read(struct server *srv, struct client *c)
{
    while (read_once(srv, c) && reading(c) && c->conn.ops->pending(&c->conn))
        ;
}

void server_client_block(struct server *srv, struct client *c)
{
    c->flags |= CLIENT_BLOCKED;
    update_events(srv, c);
}

void server_client_unblock(struct server *srv, struct client *c)
{
    c->flags &= ~CLIENT_BLOCKED;
    c->active_ns = rs_clock_mono_ns();
    update_events(srv, c);
    run_requests(srv, c); /* those pipelined behind the blocking one */
    if (reading(c) && c->conn.ops->pending(&c->conn))
        client_read(srv, c);
}

struct client *server_client_by_id(struct server *srv, uint64_t id)
{
    for (struct client *c = srv->clients; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void client_on_event(struct server *srv, struct server_io *io, uint32_t events)
{
    struct client *c = (struct client *)io; /* io is the first member */
    if (c->flags & CLIENT_CLOSED)
        return;
    uint32_t ready = c->conn.ops->ready(&c->conn, events);
    if ((ready & (EPOLLIN | EPOLLHUP | EPOLLERR)) && reading(c))
        client_read(srv, c);
    else if (events & (EPOLLHUP | EPOLLERR))
        server_client_close(srv, c, "connection reset");
    if (!(c->flags & CLIENT_CLOSED) && (ready & EPOLLOUT))
        server_client_flush(srv, c);
}
