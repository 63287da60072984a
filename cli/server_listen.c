/*
 * The listening socket: parse "host:port" (IPv4, "[IPv6]:port", or a
 * name), bind, listen, tell the world where (log and --port-file), and
 * accept connections up to max-clients.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/server_int.h"
#include "common/atomic_file.h"
#include "common/log.h"

#define MAX_ACCEPTS_PER_TURN 1000

/* Splits "host:port" or "[v6]:port" into its parts. */
static rs_code split_address(const char *addr, char *host, size_t host_cap, const char **port, rs_err *err)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hlen = colon != NULL ? (size_t)(colon - addr) : 0;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':')
            colon = NULL;
        h = addr + 1;
        hlen = close != NULL ? (size_t)(close - h) : 0;
    } else if (colon != NULL && memchr(addr, ':', hlen) != NULL) {
        return rs_err_set(err, RS_E_INVALID, "--listen '%s': write an IPv6 address in brackets, like [::1]:6379",
                          addr);
    }
    if (colon == NULL || hlen == 0 || colon[1] == '\0' || hlen >= host_cap)
        return rs_err_set(err, RS_E_INVALID, "--listen '%s': expected HOST:PORT, like 127.0.0.1:6379", addr);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = colon + 1;
    return RS_OK;
}

static void format_address(const struct sockaddr_storage *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
        return;
    }
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    port = ntohs(s4->sin_port);
    snprintf(out, cap, "%s:%u", host, port);
}

static int bind_one(const struct addrinfo *ai, int *saved_errno)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *saved_errno = errno;
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    /* the backlog is capped by net.core.somaxconn; 1000 clients connecting
     * at once must not see refusals */
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        *saved_errno = errno;
        close(fd);
        return -1;
    }
    return fd;
}

/* Writes the bound address atomically, so a reader polling for the file
 * never sees half of it. */
static rs_code write_port_file(const char *path, const char *address, rs_err *err)
{
    char line[sizeof ((struct server *)0)->address + 1];
    int n = snprintf(line, sizeof line, "%s\n", address);
    rs_code rc = rs_atomic_file_put(path, line, (size_t)n, 0644, 0, err);
    if (rc != RS_OK)
        rs_err_prefix(err, "--port-file");
    return rc;
}

static void on_accept(struct server *srv, struct server_io *io, uint32_t events);

rs_code server_listener_open(struct server *srv, rs_err *err)
{
    char host[256];
    const char *port = NULL;
    rs_code rc = split_address(srv->cfg.listen, host, sizeof host, &port, err);
    if (rc != RS_OK)
        return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return rs_err_set(err, RS_E_INVALID, "--listen '%s': %s", srv->cfg.listen, gai_strerror(gai));
    int fd = -1, e = 0;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = bind_one(ai, &e);
    freeaddrinfo(res);
    if (fd < 0) {
        rs_err_sys(err, e == EADDRINUSE ? RS_E_BUSY : RS_E_IO, e, "serve: cannot listen on '%s'", srv->cfg.listen);
        if (e == EADDRINUSE)
            rs_err_hint(err, "another server listens there: choose another --listen port (port 0 picks a free one)");
        return err != NULL ? err->code : RS_E_IO;
    }
    srv->listener.fd = fd;
    srv->listener.on_event = on_accept;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    format_address(&sa, srv->address, sizeof srv->address);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &srv->listener};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "serve: watch the listening socket");
    if (srv->cfg.port_file != NULL)
        return write_port_file(srv->cfg.port_file, srv->address, err);
    return RS_OK;
}

void server_listener_close(struct server *srv)
{
    if (srv->listener.fd < 0)
        return;
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->listener.fd, NULL);
    close(srv->listener.fd);
    srv->listener.fd = -1;
}

static void reject(struct server *srv, int fd)
{
    static const char msg[] = "-ERR max number of clients reached\r\n";
    ssize_t n = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n; /* best effort: the connection closes either way */
    close(fd);
    srv->stats.rejected_connections++;
}

static void on_accept(struct server *srv, struct server_io *io, uint32_t events)
{
    (void)events;
    for (int i = 0; i < MAX_ACCEPTS_PER_TURN; i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(io->fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                RS_LOG_WARN("serve: accept failed: %s", strerror(errno));
            return;
        }
        srv->stats.connections_received++;
        if (srv->n_clients >= srv->cfg.max_clients) {
            reject(srv, fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char addr[64];
        format_address(&sa, addr, sizeof addr);
        rs_err err = RS_ERR_INIT;
        if (client_create(srv, fd, addr, &err) != RS_OK) {
            RS_LOG_WARN("serve: dropping connection addr=%s: %s", addr, err.msg);
            close(fd);
        }
    }
}
