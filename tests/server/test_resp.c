/*
 * server/resp.c: the RESP2 request parser (multibulk, inline, split across
 * reads, every bound) and the reply writer (golden bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "server/resp.h"
#include "testlib/testlib.h"

static const struct resp_limits LIM = {.max_bulk = 1024, .max_args = 8};

#define B(s) ((const uint8_t *)(s))

/* Parses all of s in one call; returns the status. */
static enum resp_status parse_all(struct resp_parser *p, const char *s)
{
    return server_resp_parse(p, B(s), strlen(s), &LIM);
}

static void assert_arg(const struct resp_parser *p, const char *buf, size_t i, const char *want)
{
    assert_true(i < p->n_args);
    assert_int_equal(p->args[i].len, strlen(want));
    assert_memory_equal(buf + p->args[i].off, want, strlen(want));
}

static void multibulk_request_parses_into_args(void **state)
{
    (void)state;
    struct resp_parser p;
    server_resp_parser_init(&p);
    const char *req = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nxy\r\n*1\r\n$4\r\nPING\r\n";
    assert_int_equal(parse_all(&p, req), RESP_DONE);
    assert_int_equal(p.n_args, 3);
    assert_arg(&p, req, 0, "SET");
    assert_arg(&p, req, 2, "v\r\nxy"); /* binary safe: CRLF inside a value */
    size_t first = p.pos;
    assert_int_equal(first, strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nxy\r\n"));
    server_resp_parser_next(&p);
    assert_int_equal(parse_all(&p, req + first), RESP_DONE);
    assert_arg(&p, req + first, 0, "PING");
    server_resp_parser_release(&p);
}

static void request_split_at_every_byte_parses_the_same(void **state)
{
    (void)state;
    const char *req = "*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n";
    size_t len = strlen(req);
    for (size_t cut = 0; cut < len; cut++) {
        struct resp_parser p;
        server_resp_parser_init(&p);
        assert_int_equal(server_resp_parse(&p, B(req), cut, &LIM), RESP_MORE);
        assert_int_equal(server_resp_parse(&p, B(req), len, &LIM), RESP_DONE);
        assert_int_equal(p.n_args, 2);
        assert_arg(&p, req, 1, "0123456789");
        assert_int_equal(p.pos, len);
        server_resp_parser_release(&p);
    }
}

static void parser_reports_bytes_a_large_argument_still_needs(void **state)
{
    (void)state;
    struct resp_parser p;
    server_resp_parser_init(&p);
    const char *head = "*1\r\n$1000\r\nabc";
    assert_int_equal(parse_all(&p, head), RESP_MORE);
    assert_int_equal(server_resp_parser_need(&p), 1000 - 3 + 2);
    server_resp_parser_release(&p);
}

static void inline_request_splits_on_spaces(void **state)
{
    (void)state;
    struct resp_parser p;
    server_resp_parser_init(&p);
    const char *req = "  set  key\tvalue \r\n";
    assert_int_equal(parse_all(&p, req), RESP_DONE);
    assert_int_equal(p.n_args, 3);
    assert_arg(&p, req, 0, "set");
    assert_arg(&p, req, 2, "value");
    assert_int_equal(p.pos, strlen(req));
    server_resp_parser_next(&p);
    assert_int_equal(parse_all(&p, "\r\n"), RESP_EMPTY);
    server_resp_parser_release(&p);
}

static void empty_multibulk_is_skipped(void **state)
{
    (void)state;
    struct resp_parser p;
    server_resp_parser_init(&p);
    assert_int_equal(parse_all(&p, "*0\r\n"), RESP_EMPTY);
    assert_int_equal(p.pos, 4);
    server_resp_parser_release(&p);
}

static void expect_error(const char *req, const char *msg)
{
    struct resp_parser p;
    server_resp_parser_init(&p);
    assert_int_equal(parse_all(&p, req), RESP_ERROR);
    assert_non_null(strstr(p.error, msg));
    assert_non_null(strstr(p.error, "Protocol error"));
    server_resp_parser_release(&p);
}

static void malformed_requests_are_errors(void **state)
{
    (void)state;
    expect_error("*x\r\n", "invalid multibulk length");
    expect_error("*2\r\n$3\r\nGET\r\n:1\r\n", "expected '$', got ':'");
    expect_error("*1\r\n$-1\r\n", "invalid bulk length");
    expect_error("*1\r\n$abc\r\n", "invalid bulk length");
    expect_error("*1\r\n$3\r\nGETxx", "not followed by CRLF");
    expect_error("*1\n", "invalid multibulk length"); /* a bare LF */
}

static void lengths_over_the_limits_are_refused_before_allocating(void **state)
{
    (void)state;
    expect_error("*9\r\n", "invalid multibulk length");               /* max_args 8 */
    expect_error("*1\r\n$1025\r\n", "invalid bulk length");            /* max_bulk 1024 */
    expect_error("*1\r\n$99999999999999999999\r\n", "invalid bulk length");
    expect_error("*99999999999999999999999\r\n", "invalid multibulk length");
}

static void overlong_lines_are_refused(void **state)
{
    (void)state;
    size_t len = RESP_MAX_LINE + 10;
    char *line = malloc(len + 1);
    memset(line, 'a', len);
    line[len] = '\0';
    expect_error(line, "too big inline request");
    line[0] = '*';
    expect_error(line, "invalid multibulk length");
    free(line);
}

static void replies_have_the_redis_bytes(void **state)
{
    (void)state;
    struct resp_buf b = {0};
    server_resp_add_simple(&b, "OK");
    server_resp_add_error(&b, "ERR bad\r\nthing");
    server_resp_add_int(&b, -42);
    server_resp_add_bulk(&b, "a\0b", 3);
    server_resp_add_null(&b);
    server_resp_add_array(&b, 2);
    const char want[] = "+OK\r\n-ERR bad  thing\r\n:-42\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.data, want, b.len);
    assert_false(b.oom);
    b.off = 5;
    assert_int_equal(server_resp_buf_compact(&b), 5);
    assert_memory_equal(b.data, "-ERR", 4);
    server_resp_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multibulk_request_parses_into_args),
        cmocka_unit_test(request_split_at_every_byte_parses_the_same),
        cmocka_unit_test(parser_reports_bytes_a_large_argument_still_needs),
        cmocka_unit_test(inline_request_splits_on_spaces),
        cmocka_unit_test(empty_multibulk_is_skipped),
        cmocka_unit_test(malformed_requests_are_errors),
        cmocka_unit_test(lengths_over_the_limits_are_refused_before_allocating),
        cmocka_unit_test(overlong_lines_are_refused),
        cmocka_unit_test(replies_have_the_redis_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
