/*
 * A small Redis-protocol client for the serve tests, for what redis-cli
 * cannot do: hold 1000 connections at once, stop reading on purpose, send
 * malformed bytes, and record every acknowledged write for a kill -9 test.
 *
 *   rs_resp_client conns ADDR N          N connections at once, each SETs and
 *                                        GETs its own key; "ok N clients=M"
 *   rs_resp_client stall ADDR KEY COUNT  send COUNT "GET KEY" and never read;
 *                                        "sent", then wait for EOF on stdin
 *   rs_resp_client writer ADDR WINDOW    SET key-I value-I forever, WINDOW per
 *                                        round trip; "ok I" for each +OK
 *   rs_resp_client check ADDR FILE       GET every key of FILE's "ok I" lines;
 *                                        "verified N", or "missing key-I"
 *   rs_resp_client raw ADDR              send stdin, print the replies, then
 *                                        "closed" if the server hung up, else "open"
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long a read waits; RS_CLIENT_TIMEOUT_MS changes it (the raw mode
 * waits this long to tell an open connection from a closed one). */
static int timeout_ms = 10000;

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
};

static int dial(const char *addr)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
        return -1;
    size_t hl = (size_t)(colon - addr);
    const char *h = addr;
    if (addr[0] == '[') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Length of the complete reply at p, 0 if incomplete. */
static size_t reply_len(const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n);
    if (nl == NULL)
        return 0;
    size_t head = (size_t)(nl - p) + 1;
    long v = strtol(p + 1, NULL, 10);
    if (p[0] == '$') {
        if (v < 0)
            return head;
        return n >= head + (size_t)v + 2 ? head + (size_t)v + 2 : 0;
    }
    if (p[0] == '*') {
        size_t at = head;
        for (long i = 0; i < v; i++) {
            size_t r = at < n ? reply_len(p + at, n - at) : 0;
            if (r == 0)
                return 0;
            at += r;
        }
        return at;
    }
    return head;
}

/* Reads one reply into *out (a copy the caller frees). Returns its length,
 * or -1 on EOF, error or timeout. */
static long read_reply(struct conn *c, char **out)
{
    for (;;) {
        size_t r = c->len > 0 ? reply_len(c->buf, c->len) : 0;
        if (r > 0) {
            *out = malloc(r + 1);
            memcpy(*out, c->buf, r);
            (*out)[r] = '\0';
            memmove(c->buf, c->buf + r, c->len - r);
            c->len -= r;
            return (long)r;
        }
        if (c->cap - c->len < 65536) {
            c->cap = c->cap * 2 + 65536;
            c->buf = realloc(c->buf, c->cap);
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) != 1)
            return -1;
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
    }
}

/* Sends a command of argc string arguments. */
static int command(int fd, int argc, const char *const *argv)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    return send_all(fd, buf, (size_t)n);
}

static int expect(struct conn *c, const char *want)
{
    char *r = NULL;
    int ok = read_reply(c, &r) > 0 && strcmp(r, want) == 0;
    if (!ok)
        fprintf(stderr, "expected %s got %s\n", want, r != NULL ? r : "(nothing)");
    free(r);
    return ok;
}

static int conns(const char *addr, int n)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    struct conn *cs = calloc((size_t)n + 1, sizeof *cs);
    for (int i = 0; i <= n; i++) {
        if ((cs[i].fd = dial(addr)) < 0) {
            printf("connect %d failed: %s\n", i, strerror(errno));
            return 1;
        }
    }
    char key[32], val[32], want[64];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "conn:%d", i);
        snprintf(val, sizeof val, "%d", i);
        const char *set[] = {"SET", key, val};
        if (command(cs[i].fd, 3, set) != 0)
            return 1;
    }
    for (int i = 0; i < n; i++) {
        if (!expect(&cs[i], "+OK\r\n"))
            return 1;
        snprintf(key, sizeof key, "conn:%d", i);
        const char *get[] = {"GET", key};
        command(cs[i].fd, 2, get);
    }
    for (int i = 0; i < n; i++) {
        snprintf(val, sizeof val, "%d", i);
        snprintf(want, sizeof want, "$%zu\r\n%s\r\n", strlen(val), val);
        if (!expect(&cs[i], want))
            return 1;
    }
    const char *info[] = {"INFO", "clients"};
    command(cs[n].fd, 2, info);
    char *r = NULL;
    const char *at = read_reply(&cs[n], &r) > 0 ? strstr(r, "connected_clients:") : NULL;
    printf("ok %d clients=%ld\n", n, at != NULL ? strtol(at + 18, NULL, 10) : -1L);
    free(r);
    for (int i = 0; i <= n; i++) {
        close(cs[i].fd);
        free(cs[i].buf);
    }
    free(cs);
    return 0;
}

static int stall(const char *addr, const char *key, int count)
{
    int fd = dial(addr);
    if (fd < 0)
        return 1;
    const char *get[] = {"GET", key};
    int sent = 0;
    /* the server's replies pile up: it must cut us off, not wait for us */
    while (sent < count && command(fd, 2, get) == 0)
        sent++;
    printf("sent %d\n", sent);
    fflush(stdout);
    char b[64];
    while (read(STDIN_FILENO, b, sizeof b) > 0) {
    }
    close(fd);
    return 0;
}

/* One round of WINDOW SETs; prints "ok I" per +OK. Returns 0, or 1 when
 * the server is gone or refused. */
static int write_round(struct conn *c, long base, int window)
{
    char key[32], val[32];
    for (int i = 0; i < window; i++) {
        snprintf(key, sizeof key, "key-%ld", base + i);
        snprintf(val, sizeof val, "value-%ld", base + i);
        const char *set[] = {"SET", key, val};
        if (command(c->fd, 3, set) != 0)
            return 1;
    }
    for (int i = 0; i < window; i++) {
        char *r = NULL;
        if (read_reply(c, &r) < 0)
            return 1; /* the server died: what was acknowledged is printed */
        int ok = strcmp(r, "+OK\r\n") == 0;
        if (ok)
            printf("ok %ld\n", base + i);
        else
            printf("error %s", r);
        free(r);
        if (!ok)
            return 1;
    }
    return 0;
}

static int writer(const char *addr, int window)
{
    struct conn c = {.fd = dial(addr)};
    if (c.fd < 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long base = 0; write_round(&c, base, window) == 0; base += window) {
    }
    close(c.fd);
    free(c.buf);
    return 1;
}

static int check(const char *addr, const char *file)
{
    struct conn c = {.fd = dial(addr)};
    FILE *f = fopen(file, "r");
    if (c.fd < 0 || f == NULL)
        return 1;
    long i = 0, n = 0;
    char key[32], want[64], line[128];
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "ok %ld", &i) != 1)
            continue;
        snprintf(key, sizeof key, "key-%ld", i);
        const char *get[] = {"GET", key};
        command(c.fd, 2, get);
        char val[32];
        snprintf(val, sizeof val, "value-%ld", i);
        snprintf(want, sizeof want, "$%zu\r\n%s\r\n", strlen(val), val);
        if (!expect(&c, want)) {
            printf("missing %s\n", key);
            break;
        }
        n++;
    }
    int done = feof(f);
    fclose(f);
    close(c.fd);
    free(c.buf);
    if (done)
        printf("verified %ld\n", n);
    return done ? 0 : 1;
}

static void print_escaped(const char *p, long n)
{
    for (long i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\r')
            continue;
        if (ch == '\n' || (ch >= 32 && ch < 127))
            putchar(ch);
        else
            printf("\\x%02x", ch);
    }
}

static int raw(const char *addr)
{
    struct conn c = {.fd = dial(addr)};
    if (c.fd < 0)
        return 1;
    char b[65536];
    ssize_t n;
    while ((n = read(STDIN_FILENO, b, sizeof b)) > 0)
        if (send_all(c.fd, b, (size_t)n) != 0)
            break; /* the server may hang up before it has read it all */
    char *r = NULL;
    long len;
    while ((len = read_reply(&c, &r)) > 0) {
        print_escaped(r, len);
        free(r);
    }
    /* read_reply gives up on EOF at once, on an open connection after the timeout */
    struct pollfd pfd = {.fd = c.fd, .events = POLLIN};
    int closed = poll(&pfd, 1, 0) == 1 && recv(c.fd, b, sizeof b, MSG_DONTWAIT) <= 0;
    printf("%s\n", closed ? "closed" : "open");
    close(c.fd);
    free(c.buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (getenv("RS_CLIENT_TIMEOUT_MS") != NULL)
        timeout_ms = atoi(getenv("RS_CLIENT_TIMEOUT_MS"));
    if (argc == 4 && strcmp(argv[1], "conns") == 0)
        return conns(argv[2], atoi(argv[3]));
    if (argc == 5 && strcmp(argv[1], "stall") == 0)
        return stall(argv[2], argv[3], atoi(argv[4]));
    if (argc == 4 && strcmp(argv[1], "writer") == 0)
        return writer(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "raw") == 0)
        return raw(argv[2]);
    fprintf(stderr, "usage: see the top of tests/cli/resp_client.c\n");
    return 2;
}
