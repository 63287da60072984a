/* A server instance in the test's process; see server_fixture.h. */
#include "server_fixture.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"

#define DEADLINE_NS (10ull * 1000000000ull)

struct srv_fixture *srv_fixture_start(const rs_server_config *cfg)
{
    /* a client that hangs up is an EPIPE, as in rockstream serve */
    signal(SIGPIPE, SIG_IGN);
    struct srv_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->db = rs_test_db_open("server", 0, NULL);
    rs_server_config c = {0};
    if (cfg != NULL)
        c = *cfg;
    if (c.listen == NULL)
        c.listen = "127.0.0.1:0";
    if (c.db_path == NULL)
        c.db_path = f->db->db;
    rs_err err = RS_ERR_INIT;
    if (server_setup_init(&f->setup, &c, &err) != RS_OK)
        fail_msg("setup: %s", err.msg);
    if (server_create(&f->setup, f->db->store, NULL, &f->srv, &err) != RS_OK)
        fail_msg("server: %s", err.msg);
    return f;
}

void srv_fixture_stop(struct srv_fixture *f)
{
    server_destroy(f->srv);
    server_setup_release(&f->setup);
    rs_test_db_close(f->db);
    free(f);
}

int srv_fixture_client(struct srv_fixture *f, int sndbuf)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    if (sndbuf > 0)
        assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    rs_err err = RS_ERR_INIT;
    if (server_client_create(f->srv, sv[0], "test", NULL, &err) != RS_OK)
        fail_msg("client: %s", err.msg);
    return sv[1];
}

void srv_fixture_send(struct srv_fixture *f, int fd, const void *p, size_t n)
{
    const char *b = p;
    uint64_t deadline = rs_clock_mono_ns() + DEADLINE_NS;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        assert_true(w < 0 && errno == EAGAIN);
        assert_true(rs_clock_mono_ns() < deadline);
        server_turn(f->srv, 10);
    }
}

void srv_fixture_send_str(struct srv_fixture *f, int fd, const char *s) { srv_fixture_send(f, fd, s, strlen(s)); }

/* Reads what fd has now into buf after *got; returns 0 at end of file. */
static int drain(int fd, char *buf, size_t cap, size_t *got)
{
    for (;;) {
        char scratch[65536];
        char *to = buf != NULL ? buf + *got : scratch;
        size_t room = buf != NULL ? cap - *got : sizeof scratch;
        if (room == 0)
            return 1;
        ssize_t n = recv(fd, to, room, 0);
        if (n == 0)
            return 0;
        if (n < 0) {
            assert_true(errno == EAGAIN);
            return 1;
        }
        *got += (size_t)n;
    }
}

void srv_fixture_expect(struct srv_fixture *f, int fd, const char *want)
{
    size_t len = strlen(want), got = 0;
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    uint64_t deadline = rs_clock_mono_ns() + DEADLINE_NS;
    while (got < len) {
        server_turn(f->srv, 10);
        int open = drain(fd, buf, len, &got);
        if (got > 0 && memcmp(buf, want, got) != 0) {
            buf[got] = '\0';
            fail_msg("expected '%s', got '%s'", want, buf);
        }
        if (!open && got < len)
            fail_msg("closed after %zu of the %zu bytes expected ('%s')", got, len, want);
        if (rs_clock_mono_ns() > deadline)
            fail_msg("only %zu of the %zu bytes expected ('%s') within 10 s", got, len, want);
    }
    free(buf);
    srv_fixture_expect_nothing(f, fd);
}

size_t srv_fixture_expect_close(struct srv_fixture *f, int fd)
{
    size_t got = 0;
    uint64_t deadline = rs_clock_mono_ns() + DEADLINE_NS;
    for (;;) {
        server_turn(f->srv, 10);
        if (!drain(fd, NULL, 0, &got))
            return got;
        if (rs_clock_mono_ns() > deadline)
            fail_msg("the server did not close the connection within 10 s");
    }
}

void srv_fixture_expect_nothing(struct srv_fixture *f, int fd)
{
    for (int i = 0; i < 3; i++)
        server_turn(f->srv, 1);
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    assert_true(n < 0 && errno == EAGAIN);
}
