/*
 * The listening sockets: parse "host:port" (IPv4, "[IPv6]:port", or a
 * name), bind, listen, tell the world where (log and --port-file), and
 * accept connections up to max-clients, on the plain port and the TLS one.
 * Also protected mode, as Redis's: without a password, only loopback
 * addresses may be listened on, so only this host's clients are served.
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

#include "common/atomic_file.h"
#include "common/log.h"
#include "server/server_int.h"

#define MAX_ACCEPTS_PER_TURN 1000

/* ---- addresses ----------------------------------------------------------- */

/* Splits "host:port" or "[v6]:port" into its parts; what names the option
 * in messages. */
static rs_code split_address(const char *what, const char *addr, char *host, size_t host_cap, const char **port,
                             rs_err *err)
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
        return rs_err_set(err, RS_E_INVALID, "%s '%s': write an IPv6 address in brackets, like [::1]:6379", what,
                          addr);
    }
    if (colon == NULL || hlen == 0 || colon[1] == '\0' || hlen >= host_cap)
        return rs_err_set(err, RS_E_INVALID, "%s '%s': expected HOST:PORT, like 127.0.0.1:6379", what, addr);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = colon + 1;
    return RS_OK;
}

static rs_code resolve(const char *what, const char *spec, struct addrinfo **res, rs_err *err)
{
    char host[256];
    const char *port = NULL;
    rs_code rc = split_address(what, spec, host, sizeof host, &port, err);
    if (rc != RS_OK)
        return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    int gai = getaddrinfo(host, port, &hints, res);
    if (gai != 0)
        return rs_err_set(err, RS_E_INVALID, "%s '%s': %s", what, spec, gai_strerror(gai));
    return RS_OK;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family != AF_INET6)
        return 0;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

rs_code server_listen_check(const char *spec, const char *what, int has_password, int *loopback, rs_err *err)
{
    struct addrinfo *res = NULL;
    rs_code rc = resolve(what, spec, &res, err);
    if (rc != RS_OK)
        return rc;
    int open_to_others = 0;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        open_to_others |= !is_loopback(ai->ai_addr);
    freeaddrinfo(res);
    *loopback = !open_to_others;
    if (!open_to_others || has_password)
        return RS_OK;
    rs_err_set(err, RS_E_INVALID, "%s '%s' is not a loopback address and no password is set: anyone who can reach "
               "it could read, write and snapshot the database (protected mode)", what, spec);
    rs_err_hint(err, "set a password with --requirepass-file FILE (or requirepass in the config file), or listen "
                     "on 127.0.0.1");
    return RS_E_INVALID;
}

rs_code server_tls_spec(const rs_server_config *cfg, char *out, size_t cap, rs_err *err)
{
    const char *spec = cfg->tls_port;
    if (strspn(spec, "0123456789") == strlen(spec) && spec[0] != '\0') {
        /* a port alone: on the plain listener's host, as Redis's tls-port */
        const char *colon = strrchr(cfg->listen, ':');
        int host_len = colon != NULL ? (int)(colon - cfg->listen) : 0;
        if ((size_t)snprintf(out, cap, "%.*s:%s", host_len, cfg->listen, spec) >= cap)
            return rs_err_set(err, RS_E_INVALID, "--tls-port '%s': too long", spec);
        return RS_OK;
    }
    if ((size_t)snprintf(out, cap, "%s", spec) >= cap)
        return rs_err_set(err, RS_E_INVALID, "--tls-port '%s': too long", spec);
    return RS_OK;
}

static void format_address(const struct sockaddr_storage *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
        return;
    }
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    snprintf(out, cap, "%s:%u", host, ntohs(s4->sin_port));
}

/* ---- binding -------------------------------------------------------------- */

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

static void on_accept(struct server *srv, struct server_io *io, uint32_t events);

static rs_code listen_on(struct server *srv, const char *what, const char *spec, struct server_tls *tls, rs_err *err)
{
    struct addrinfo *res = NULL;
    rs_code rc = resolve(what, spec, &res, err);
    if (rc != RS_OK)
        return rc;
    int fd = -1, e = 0;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = bind_one(ai, &e);
    freeaddrinfo(res);
    if (fd < 0) {
        rs_err_sys(err, e == EADDRINUSE ? RS_E_BUSY : RS_E_IO, e, "serve: cannot listen on '%s'", spec);
        if (e == EADDRINUSE)
            rs_err_hint(err, "another server listens there: choose another --listen port (port 0 picks a free one)");
        return err != NULL ? err->code : RS_E_IO;
    }
    struct server_listener *l = &srv->listeners[srv->n_listeners++];
    l->io.fd = fd;
    l->io.on_event = on_accept;
    l->tls = tls;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    format_address(&sa, l->address, sizeof l->address);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->io};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "serve: watch the listening socket");
    return RS_OK;
}

/* Writes the bound addresses (the plain one, then the TLS one) atomically,
 * so a reader polling for the file never sees half of it. */
static rs_code write_port_file(const char *path, const struct server *srv, rs_err *err)
{
    char text[SERVER_MAX_LISTENERS * (sizeof srv->listeners[0].address + 1)];
    size_t len = 0;
    for (size_t i = 0; i < srv->n_listeners; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", srv->listeners[i].address);
    rs_code rc = rs_atomic_file_put(path, text, len, 0644, 0, err);
    if (rc != RS_OK)
        rs_err_prefix(err, "--port-file");
    return rc;
}

rs_code server_listeners_open(struct server *srv, rs_err *err)
{
    rs_code rc = listen_on(srv, "--listen", srv->cfg->listen, NULL, err);
    if (rc == RS_OK && srv->setup->tls != NULL) {
        char spec[300];
        rc = server_tls_spec(srv->cfg, spec, sizeof spec, err);
        if (rc == RS_OK)
            rc = listen_on(srv, "--tls-port", spec, srv->setup->tls, err);
    }
    if (rc == RS_OK && srv->cfg->port_file != NULL)
        rc = write_port_file(srv->cfg->port_file, srv, err);
    return rc;
}

void server_listeners_close(struct server *srv)
{
    for (size_t i = 0; i < srv->n_listeners; i++) {
        struct server_listener *l = &srv->listeners[i];
        if (l->io.fd < 0)
            continue;
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, l->io.fd, NULL);
        close(l->io.fd);
        l->io.fd = -1;
    }
}

/* ---- accepting ---------------------------------------------------------------- */

/* Over max-clients: said in plain text, which a TLS client cannot read,
 * but it sees the connection close either way. */
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
    struct server_listener *l = (struct server_listener *)io; /* io is the first member */
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
        if (srv->n_clients >= srv->cfg->max_clients) {
            reject(srv, fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char addr[64];
        format_address(&sa, addr, sizeof addr);
        rs_err err = RS_ERR_INIT;
        if (server_client_create(srv, fd, addr, l->tls, &err) != RS_OK)
            RS_LOG_WARN("serve: dropping connection addr=%s: %s", addr, err.msg);
    }
}
