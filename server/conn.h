/*
 * How a client's bytes travel: plain TCP (conn.c) or TLS (conn_tls.c),
 * behind one table of functions, in the manner of Redis's ConnectionType.
 * The client code (client.c) reads and writes through it and never knows
 * which; the event loop only asks it which socket events to watch.
 *
 * TLS is why the table has more than read and write: a TLS read may need
 * the socket to be writable (a handshake message to send), a write may
 * need it readable, and a read may leave decrypted bytes inside OpenSSL
 * that no socket event will announce (pending).
 */
#ifndef RS_SERVER_CONN_H
#define RS_SERVER_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct server_conn;
struct server_tls;

struct server_conn_ops {
    const char *name; /* "tcp", "tls" */
    /* > 0: bytes; 0: the peer closed; -1 with errno: EAGAIN or EINTR (try
     * again on the next event), anything else: broken (conn->error says
     * why, for the log) */
    ssize_t (*read)(struct server_conn *c, void *buf, size_t len);
    ssize_t (*write)(struct server_conn *c, const void *buf, size_t len);
    /* bytes already read from the socket but not yet returned */
    int (*pending)(const struct server_conn *c);
    /* 1 until the transport's handshake is done (never, for TCP) */
    int (*handshaking)(const struct server_conn *c);
    /* the epoll events to watch so that what the client wants (EPOLLIN to
     * read, EPOLLOUT to write) can progress */
    uint32_t (*watch)(const struct server_conn *c, uint32_t want);
    /* which of EPOLLIN / EPOLLOUT the client may try after events */
    uint32_t (*ready)(const struct server_conn *c, uint32_t events);
    /* closes the socket and frees what the transport holds */
    void (*close)(struct server_conn *c);
};

struct server_conn {
    const struct server_conn_ops *ops;
    int   fd;
    void *tls;        /* the transport's state (an SSL *), or NULL */
    unsigned want;    /* the transport's own needs (conn_tls.c) */
    char  error[128]; /* why the last read or write broke */
};

/* A plain TCP connection on fd (taken). */
void server_conn_tcp(struct server_conn *c, int fd);
/* A TLS connection on fd (taken, even on failure), as the server's side. */
rs_code server_conn_tls(struct server_conn *c, int fd, struct server_tls *tls, rs_err *err);

/* The TLS context a server's TLS listener hands its connections: the
 * certificate, key and CA of the config, loaded once (conn_tls.c). */
rs_code server_tls_create(const char *cert_file, const char *key_file, const char *ca_file, struct server_tls **out,
                          rs_err *err);
void server_tls_destroy(struct server_tls *t);

static inline ssize_t server_conn_read(struct server_conn *c, void *buf, size_t len)
{
    return c->ops->read(c, buf, len);
}

static inline ssize_t server_conn_write(struct server_conn *c, const void *buf, size_t len)
{
    return c->ops->write(c, buf, len);
}

#endif
