/*
 * TCP with deadlines: listen, connect, accept, and exact sends and
 * receives that give up at a deadline instead of blocking forever. Sockets
 * are non-blocking; poll() waits. No framing here (conn.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "wal/wal_int.h"

uint64_t wal_deadline(uint32_t ms) { return rs_clock_mono_ns() + (uint64_t)ms * 1000000u; }

static int ms_left(uint64_t deadline_ns)
{
    uint64_t now = rs_clock_mono_ns();
    if (now >= deadline_ns)
        return 0;
    uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
    return ms > 60000 ? 60000 : (int)ms;
}

static rs_code resolve(const char *addr, int passive, struct addrinfo **out, rs_err *err)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0' || (size_t)(colon - addr) >= sizeof host)
        return rs_err_set(err, RS_E_INVALID, "address '%s' is not host:port", addr);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    /* "[::1]:7000" */
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = passive ? AI_PASSIVE : 0};
    int rc = getaddrinfo(h, colon + 1, &hints, out);
    if (rc != 0)
        return rs_err_set(err, RS_E_INVALID, "address '%s': %s", addr, gai_strerror(rc));
    return RS_OK;
}

static void tune(int fd)
{
    int one = 1;
    /* frames are small and latency matters: never wait to fill a packet */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

rs_code wal_net_listen(const char *addr, int *fd_out, uint16_t *port_out, rs_err *err)
{
    struct addrinfo *ai = NULL;
    rs_code rc = resolve(addr, 1, &ai, err);
    if (rc != RS_OK)
        return rc;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rs_err_sys(err, RS_E_NETWORK, e, "listen on '%s'", addr);
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    *fd_out = fd;
    return RS_OK;
}

static rs_code connect_one(const struct addrinfo *ai, const char *addr, uint64_t deadline, int *fd_out,
                           rs_err *err)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return rs_err_sys(err, RS_E_NETWORK, errno, "connect to '%s'", addr);
    tune(fd);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return rs_err_sys(err, RS_E_NETWORK, e, "connect to '%s'", addr);
    }
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int n = poll(&pfd, 1, ms_left(deadline));
    int so_err = 0;
    socklen_t sl = sizeof so_err;
    if (n == 1)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &sl);
    if (n != 1 || so_err != 0) {
        close(fd);
        if (n == 0)
            return rs_err_set(err, RS_E_TIMEOUT, "connect to '%s': timed out", addr);
        return rs_err_sys(err, RS_E_NETWORK, so_err != 0 ? so_err : errno, "connect to '%s'", addr);
    }
    *fd_out = fd;
    return RS_OK;
}

rs_code wal_net_connect(const char *addr, uint32_t timeout_ms, int *fd_out, rs_err *err)
{
    struct addrinfo *ai = NULL;
    rs_code rc = resolve(addr, 0, &ai, err);
    if (rc != RS_OK)
        return rc;
    rc = connect_one(ai, addr, wal_deadline(timeout_ms), fd_out, err);
    freeaddrinfo(ai);
    return rc;
}

rs_code wal_net_accept(int lfd, uint32_t timeout_ms, int *fd_out, char *peer, size_t peer_cap, rs_err *err)
{
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int n = poll(&pfd, 1, (int)timeout_ms);
    if (n <= 0)
        return n == 0 || errno == EINTR ? RS_E_TIMEOUT : rs_err_sys(err, RS_E_NETWORK, errno, "accept");
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EAGAIN || errno == EINTR ? RS_E_TIMEOUT : rs_err_sys(err, RS_E_NETWORK, errno, "accept");
    tune(fd);
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(peer, peer_cap, "%s:%s", host, serv);
    else
        snprintf(peer, peer_cap, "unknown");
    *fd_out = fd;
    return RS_OK;
}

/* Waits for the socket to be ready for events before the deadline. */
static rs_code wait_ready(int fd, short events, uint64_t deadline_ns, const char *what, rs_err *err)
{
    for (;;) {
        int left = ms_left(deadline_ns);
        if (left == 0)
            return rs_err_set(err, RS_E_TIMEOUT, "%s: timed out", what);
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left);
        if (n > 0)
            return RS_OK;
        if (n < 0 && errno != EINTR)
            return rs_err_sys(err, RS_E_NETWORK, errno, "%s", what);
    }
}

rs_code wal_net_send_all(int fd, const uint8_t *p, size_t len, uint64_t deadline_ns, rs_err *err)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return rs_err_sys(err, RS_E_NETWORK, errno, "send");
        rs_code rc = wait_ready(fd, POLLOUT, deadline_ns, "send", err);
        if (rc != RS_OK)
            return rc;
    }
    return RS_OK;
}

ssize_t wal_net_recv_some(int fd, uint8_t *p, size_t cap, uint64_t deadline_ns, rs_err *err)
{
    for (;;) {
        ssize_t n = recv(fd, p, cap, 0);
        if (n > 0)
            return n;
        if (n == 0) {
            rs_err_set(err, RS_E_NETWORK, "connection closed by peer");
            return -1;
        }
        if (errno != EAGAIN && errno != EINTR) {
            rs_err_sys(err, RS_E_NETWORK, errno, "receive");
            return -1;
        }
        if (wait_ready(fd, POLLIN, deadline_ns, "receive", err) != RS_OK)
            return -1;
    }
}

rs_code wal_net_recv_all(int fd, uint8_t *p, size_t len, uint64_t deadline_ns, rs_err *err)
{
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return rs_err_set(err, RS_E_NETWORK, "connection closed by peer");
        if (errno != EAGAIN && errno != EINTR)
            return rs_err_sys(err, RS_E_NETWORK, errno, "receive");
        rs_code rc = wait_ready(fd, POLLIN, deadline_ns, "receive", err);
        if (rc != RS_OK)
            return rc;
    }
    return RS_OK;
}
