/*
 * A server instance in the test's own process, for the unit tests of
 * dispatch and connection handling: a database in a temporary directory,
 * an instance of server/ on it, and clients on socketpairs whose other
 * end the test holds. The test turns the loop itself, so what the server
 * does between two reads is exactly what the test arranged.
 */
#ifndef RS_TEST_SERVER_FIXTURE_H
#define RS_TEST_SERVER_FIXTURE_H

#include <stddef.h>

#include "server/cmd.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

struct srv_fixture {
    struct rs_test_db  *db;
    struct server_setup setup;
    struct server      *srv;
};

/* Opens a database and an instance on it with cfg (NULL: defaults; the
 * listen address is 127.0.0.1:0 unless cfg names one). */
struct srv_fixture *srv_fixture_start(const rs_server_config *cfg);
void srv_fixture_stop(struct srv_fixture *f);

/* A new client; returns the test's end of its socketpair (non-blocking).
 * sndbuf > 0 shrinks the server's send buffer, so replies pile up in the
 * server's memory instead of the kernel's. */
int srv_fixture_client(struct srv_fixture *f, int sndbuf);

/* Sends p[0..n) on fd, turning the loop whenever the socket is full. */
void srv_fixture_send(struct srv_fixture *f, int fd, const void *p, size_t n);
void srv_fixture_send_str(struct srv_fixture *f, int fd, const char *s);

/* Turns the loop until fd has received exactly want (or fails the test
 * after 10 s, or at once on a byte that differs). */
void srv_fixture_expect(struct srv_fixture *f, int fd, const char *want);

/* Turns the loop until the server closes fd; returns how many bytes came
 * first (they are dropped). */
size_t srv_fixture_expect_close(struct srv_fixture *f, int fd);

/* Turns the loop a few times, and asserts fd received nothing. */
void srv_fixture_expect_nothing(struct srv_fixture *f, int fd);

#endif
