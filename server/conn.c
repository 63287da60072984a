/*
 * The plain TCP transport (see conn.h): read and send on the socket, with
 * nothing buffered of its own.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/conn.h"

static void note_error(struct server_conn *c, int e)
{
    strerror_r(e, c->error, sizeof c->error);
    errno = e;
}

static ssize_t tcp_read(struct server_conn *c, void *buf, size_t len)
{
    ssize_t n = read(c->fd, buf, len);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        note_error(c, errno);
    return n;
}

static ssize_t tcp_write(struct server_conn *c, const void *buf, size_t len)
{
    /* MSG_NOSIGNAL: a client that hung up is an EPIPE here, not a signal */
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        note_error(c, errno);
    return n;
}

static int tcp_none(const struct server_conn *c)
{
    (void)c;
    return 0;
}

static uint32_t tcp_same(const struct server_conn *c, uint32_t events)
{
    (void)c;
    return events;
}

static void tcp_close(struct server_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static const struct server_conn_ops tcp_ops = {
    .name = "tcp",
    .read = tcp_read,
    .write = tcp_write,
    .pending = tcp_none,
    .handshaking = tcp_none,
    .watch = tcp_same,
    .ready = tcp_same,
    .close = tcp_close,
};

void server_conn_tcp(struct server_conn *c, int fd)
{
    memset(c, 0, sizeof *c);
    c->ops = &tcp_ops;
    c->fd = fd;
}
