/*
 * server/client.c: a client's bytes arriving in any pieces give the same
 * replies, in order; a request cut anywhere waits for its rest; a client
 * that stops reading is cut off at max-output while others are served; a
 * malformed request gets its error, then the connection closes.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_fixture.h"

/* A pipeline of every kind of request and its replies, written by hand
 * from Redis's protocol (not by the server under test): multibulk and
 * inline requests, a write, a gathered GET, a counter, an error that keeps
 * the connection, and a binary value with CRLF inside. */
static const char PIPELINE[] =
    "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$4\r\nx\r\ny\r\n"
    "GET a\r\n"
    "SET n 5\r\n"
    "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
    "PING\r\n"
    "GET\r\n"
    "*3\r\n$4\r\nMGET\r\n$1\r\nn\r\n$7\r\nmissing\r\n"
    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";
static const char REPLIES[] =
    "+OK\r\n"
    "$4\r\nx\r\ny\r\n"
    "+OK\r\n"
    ":6\r\n"
    "+PONG\r\n"
    "-ERR wrong number of arguments for 'get' command\r\n"
    "*2\r\n$1\r\n6\r\n$-1\r\n"
    "$0\r\n\r\n";

static void pipeline_in_one_piece(void **state)
{
    (void)state;
    struct srv_fixture *f = srv_fixture_start(NULL);
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, PIPELINE);
    srv_fixture_expect(f, fd, REPLIES);
    close(fd);
    srv_fixture_stop(f);
}

/* Cut at every byte: the first part's complete requests are answered, the
 * request cut in two waits for its rest, and together the replies are the
 * same bytes. */
static void pipeline_cut_at_every_byte(void **state)
{
    (void)state;
    struct srv_fixture *f = srv_fixture_start(NULL);
    size_t len = strlen(PIPELINE);
    for (size_t cut = 1; cut < len; cut++) {
        int fd = srv_fixture_client(f, 0);
        srv_fixture_send(f, fd, PIPELINE, cut);
        for (int i = 0; i < 2; i++)
            server_turn(f->srv, 1);
        srv_fixture_send(f, fd, PIPELINE + cut, len - cut);
        srv_fixture_expect(f, fd, REPLIES);
        close(fd);
    }
    assert_int_equal(f->srv->stats.protocol_errors, 0);
    srv_fixture_stop(f);
}

/* One byte per read: nothing is answered before the last byte comes. */
static void one_request_byte_by_byte(void **state)
{
    (void)state;
    struct srv_fixture *f = srv_fixture_start(NULL);
    int fd = srv_fixture_client(f, 0);
    const char req[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    for (size_t i = 0; i + 1 < sizeof req - 1; i++) {
        srv_fixture_send(f, fd, req + i, 1);
        srv_fixture_expect_nothing(f, fd);
    }
    srv_fixture_send(f, fd, req + sizeof req - 2, 1);
    srv_fixture_expect(f, fd, "+OK\r\n");
    srv_fixture_send_str(f, fd, "GET key\r\n");
    srv_fixture_expect(f, fd, "$5\r\nvalue\r\n");
    close(fd);
    srv_fixture_stop(f);
}

/* A value larger than one read arrives in many, and is stored whole. */
static void large_value_in_many_reads(void **state)
{
    (void)state;
    struct srv_fixture *f = srv_fixture_start(NULL);
    int fd = srv_fixture_client(f, 0);
    size_t n = 300 * 1024;
    char *value = malloc(n);
    assert_non_null(value);
    for (size_t i = 0; i < n; i++)
        value[i] = (char)('a' + i % 26);
    char head[64];
    snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", n);
    srv_fixture_send_str(f, fd, head);
    for (size_t off = 0; off < n; off += 7000)
        srv_fixture_send(f, fd, value + off, n - off < 7000 ? n - off : 7000);
    srv_fixture_send_str(f, fd, "\r\nSTRLEN-IS-NOT-A-COMMAND\r\n");
    srv_fixture_expect(f, fd, "+OK\r\n-ERR unknown command 'STRLEN-IS-NOT-A-COMMAND', with args beginning with: \r\n");
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(f->db->store, NULL, B("big"), 3, &v, NULL), RS_OK);
    assert_int_equal(v.len, n);
    assert_memory_equal(v.data, value, n);
    rs_store_value_release(&v);
    free(value);
    close(fd);
    srv_fixture_stop(f);
}

/* A client that sends GETs and reads nothing is closed once its unsent
 * replies pass max-output, holding at most max-output plus one reply; a
 * second client is served meanwhile. */
static void output_limit_cuts_off_a_client_that_does_not_read(void **state)
{
    (void)state;
    rs_server_config cfg = {.max_output = 64 * 1024};
    struct srv_fixture *f = srv_fixture_start(&cfg);
    char value[40000];
    memset(value, 'v', sizeof value);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(f->db->store, B("big"), 3, (const uint8_t *)value, sizeof value, &err), RS_OK);
    int stalled = srv_fixture_client(f, 4096);
    int other = srv_fixture_client(f, 0);
    for (int i = 0; i < 20; i++)
        srv_fixture_send_str(f, stalled, "GET big\r\n");
    srv_fixture_send_str(f, other, "PING\r\n");
    srv_fixture_expect(f, other, "+PONG\r\n");
    size_t got = srv_fixture_expect_close(f, stalled);
    assert_int_equal(f->srv->stats.output_limit_disconnects, 1);
    assert_true(got < 20 * sizeof value); /* it was not sent everything it asked for */
    srv_fixture_send_str(f, other, "GET big\r\n");
    size_t want_len = sizeof value + 16;
    char *want = malloc(want_len);
    assert_non_null(want);
    snprintf(want, want_len, "$%zu\r\n%.*s\r\n", sizeof value, (int)sizeof value, value);
    srv_fixture_expect(f, other, want);
    free(want);
    close(stalled);
    close(other);
    srv_fixture_stop(f);
}

/* A malformed request: its error, then the close; the requests before it
 * are answered, nothing after it runs. */
static void protocol_error_answers_then_closes(void **state)
{
    (void)state;
    struct srv_fixture *f = srv_fixture_start(NULL);
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "PING\r\n*1\r\n$x\r\nSET after 1\r\n");
    const char want[] = "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n";
    assert_int_equal(srv_fixture_expect_close(f, fd), sizeof want - 1);
    assert_int_equal(f->srv->stats.protocol_errors, 1);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(f->db->store, NULL, B("after"), 5, &v, NULL), RS_E_NOTFOUND);
    close(fd);
    srv_fixture_stop(f);
}

/* QUIT: the replies before it go out, then the server closes. */
static void quit_closes_after_the_replies_before_it(void **state)
{
    (void)state;
    struct srv_fixture *f = srv_fixture_start(NULL);
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "SET q 1\r\nQUIT\r\nSET q 2\r\n");
    assert_int_equal(srv_fixture_expect_close(f, fd), strlen("+OK\r\n+OK\r\n"));
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(f->db->store, NULL, B("q"), 1, &v, NULL), RS_OK);
    assert_memory_equal(v.data, "1", 1);
    rs_store_value_release(&v);
    close(fd);
    srv_fixture_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipeline_in_one_piece),
        cmocka_unit_test(pipeline_cut_at_every_byte),
        cmocka_unit_test(one_request_byte_by_byte),
        cmocka_unit_test(large_value_in_many_reads),
        cmocka_unit_test(output_limit_cuts_off_a_client_that_does_not_read),
        cmocka_unit_test(protocol_error_answers_then_closes),
        cmocka_unit_test(quit_closes_after_the_replies_before_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
