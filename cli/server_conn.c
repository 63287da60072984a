/*
 * One client connection: reading and parsing its requests, its output
 * buffer and the bound on it, and the replies parked until the writes
 * before them are durable. Commands themselves run in server_cmds.c.
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
#include <sys/socket.h>
#include <unistd.h>

#include "cli/server_int.h"
#include "common/clock.h"
#include "common/log.h"

/* Bytes asked of read() at a time, unless a large argument is arriving. */
#define READ_CHUNK (64 * 1024)
/* An idle connection keeps at most this much buffer memory. */
#define IDLE_BUF_KEEP (1024 * 1024)

static void client_on_event(struct server *srv, struct server_io *io, uint32_t events);

rs_code client_create(struct server *srv, int fd, const char *addr, rs_err *err)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    c->io.fd = fd;
    c->io.on_event = client_on_event;
    c->id = ++srv->next_client_id;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->created_ns = c->active_ns = rs_clock_mono_ns();
    c->events = EPOLLIN;
    resp_parser_init(&c->parser);
    struct epoll_event ev = {.events = c->events, .data.ptr = &c->io};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(c);
        return rs_err_sys(err, RS_E_IO, errno, "watch connection");
    }
    c->next = srv->clients;
    if (srv->clients != NULL)
        srv->clients->prev = c;
    srv->clients = c;
    srv->n_clients++;
    RS_LOG_DEBUG("serve: client connected id=%llu addr=%s", (unsigned long long)c->id, c->addr);
    return RS_OK;
}

void client_free(struct client *c)
{
    if (c == NULL)
        return;
    resp_buf_release(&c->in);
    resp_buf_release(&c->out);
    resp_parser_release(&c->parser);
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

void client_close(struct server *srv, struct client *c, const char *why)
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
    close(c->io.fd);
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

size_t client_unsent(const struct client *c) { return c->out.len - c->out.off; }

int client_close_if_over_output(struct server *srv, struct client *c)
{
    if (client_unsent(c) <= srv->cfg.max_output)
        return 0;
    /* it asks for more while not reading what it has: a stalled or
     * runaway client must not grow the server's memory without end */
    srv->stats.output_limit_disconnects++;
    RS_LOG_INFO("serve: closing client id=%llu addr=%s: %zu reply bytes unsent exceed max-output %llu",
                (unsigned long long)c->id, c->addr, client_unsent(c), (unsigned long long)srv->cfg.max_output);
    client_close(srv, c, "output buffer limit");
    return 1;
}

static void set_events(struct server *srv, struct client *c, uint32_t events)
{
    if (events == c->events || (c->flags & CLIENT_CLOSED))
        return;
    struct epoll_event ev = {.events = events, .data.ptr = &c->io};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->io.fd, &ev) == 0)
        c->events = events;
}

static uint32_t wanted_events(const struct client *c, int more_to_send)
{
    uint32_t ev = more_to_send ? EPOLLOUT : 0;
    /* a blocked client is not read: what it sends meanwhile waits in the
     * socket, not in our memory */
    if (!(c->flags & (CLIENT_NO_READ | CLIENT_CLOSE_AFTER_REPLY | CLIENT_BLOCKED)))
        ev |= EPOLLIN;
    return ev;
}

void client_pending(struct server *srv, struct client *c)
{
    if (c->flags & (CLIENT_PENDING | CLIENT_CLOSED))
        return;
    c->flags |= CLIENT_PENDING;
    c->pending_next = srv->pending;
    srv->pending = c;
}

void client_stop_reading(struct server *srv, struct client *c)
{
    c->flags |= CLIENT_NO_READ;
    set_events(srv, c, wanted_events(c, c->events & EPOLLOUT));
}

/* ---- parked replies --------------------------------------------------- */

void client_hold(struct server *srv, struct client *c, size_t off, uint64_t seq)
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

void client_release_synced(struct server *srv)
{
    struct client *c = srv->held;
    while (c != NULL) {
        struct client *next = c->held_next;
        if (c->hold_seq <= srv->synced_seq) {
            unhold(srv, c);
            client_pending(srv, c);
        }
        c = next;
    }
}

/* ---- sending ---------------------------------------------------------- */

static void shrink_if_idle(struct resp_buf *b)
{
    if (b->off == b->len && b->cap > IDLE_BUF_KEEP)
        resp_buf_release(b);
}

void client_flush(struct server *srv, struct client *c)
{
    size_t limit = c->held ? c->hold_off : c->out.len;
    while (c->out.off < limit) {
        ssize_t n = send(c->io.fd, c->out.data + c->out.off, limit - c->out.off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            client_close(srv, c, strerror(errno));
            return;
        }
        c->out.off += (size_t)n;
        srv->stats.net_output_bytes += (uint64_t)n;
        c->active_ns = rs_clock_mono_ns();
    }
    int more = c->out.off < limit;
    if (c->out.off == c->out.len) {
        c->out.off = c->out.len = 0;
        shrink_if_idle(&c->out);
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
            client_close(srv, c, "closed after reply");
            return;
        }
    } else if (c->out.off > c->out.cap / 2) {
        size_t shift = resp_buf_compact(&c->out);
        if (c->held)
            c->hold_off -= shift;
    }
    set_events(srv, c, wanted_events(c, more));
}

/* ---- receiving -------------------------------------------------------- */

static void protocol_error(struct server *srv, struct client *c, const char *msg)
{
    srv->stats.protocol_errors++;
    RS_LOG_INFO("serve: closing client id=%llu addr=%s: %s", (unsigned long long)c->id, c->addr, msg);
    resp_add_error(&c->out, msg);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    set_events(srv, c, wanted_events(c, c->events & EPOLLOUT));
}

static void run_requests(struct server *srv, struct client *c)
{
    const struct resp_limits lim = {.max_bulk = srv->cfg.max_bulk, .max_args = srv->cfg.max_args};
    while (!(c->flags & (CLIENT_CLOSED | CLIENT_CLOSE_AFTER_REPLY | CLIENT_NO_READ | CLIENT_BLOCKED))) {
        const uint8_t *base = c->in.data + c->in.off;
        enum resp_status st = resp_parse(&c->parser, base, c->in.len - c->in.off, &lim);
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
        resp_parser_next(&c->parser);
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
        resp_buf_compact(&c->in); /* a partial request moves to the front once */
    }
    if (!(c->flags & CLIENT_CLOSED) && client_unsent(c) > 0)
        client_pending(srv, c);
}

void client_block(struct server *srv, struct client *c)
{
    c->flags |= CLIENT_BLOCKED;
    set_events(srv, c, wanted_events(c, c->events & EPOLLOUT));
}

void client_unblock(struct server *srv, struct client *c)
{
    c->flags &= ~CLIENT_BLOCKED;
    c->active_ns = rs_clock_mono_ns();
    set_events(srv, c, wanted_events(c, c->events & EPOLLOUT));
    run_requests(srv, c); /* those pipelined behind the blocking one */
}

struct client *client_by_id(struct server *srv, uint64_t id)
{
    for (struct client *c = srv->clients; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void client_read(struct server *srv, struct client *c)
{
    size_t want = READ_CHUNK;
    size_t need = resp_parser_need(&c->parser);
    if (need > want)
        want = need; /* a large argument: read it in as few calls as possible */
    if (c->in.len - c->in.off + want > srv->cfg.max_request + READ_CHUNK) {
        protocol_error(srv, c, "ERR request exceeds max-request bytes");
        return;
    }
    if (resp_buf_reserve(&c->in, want) != 0) {
        client_close(srv, c, "out of memory for the request");
        return;
    }
    ssize_t n = read(c->io.fd, c->in.data + c->in.len, want);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        client_close(srv, c, n == 0 ? "peer closed" : strerror(errno));
        return;
    }
    c->in.len += (size_t)n;
    srv->stats.net_input_bytes += (uint64_t)n;
    c->active_ns = rs_clock_mono_ns();
    run_requests(srv, c);
}

static void client_on_event(struct server *srv, struct server_io *io, uint32_t events)
{
    struct client *c = (struct client *)io; /* io is the first member */
    if (c->flags & CLIENT_CLOSED)
        return;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !(c->flags & (CLIENT_NO_READ | CLIENT_CLOSE_AFTER_REPLY)))
        client_read(srv, c);
    else if (events & (EPOLLHUP | EPOLLERR))
        client_close(srv, c, "connection reset");
    if (!(c->flags & CLIENT_CLOSED) && (events & EPOLLOUT))
        client_flush(srv, c);
}
