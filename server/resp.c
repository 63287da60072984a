/*
 * RESP2 request parsing and reply writing (see resp.h). The parser never
 * trusts a length before checking it against the limits, and never reads
 * past len; the fuzz target tests/fuzz/fuzz_resp.c holds it to that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/resp.h"
#include "common/array.h"

/* ---- parsing ---------------------------------------------------------- */

void server_resp_parser_init(struct resp_parser *p)
{
    memset(p, 0, sizeof *p);
    p->n_expected = -1;
    p->bulk_len = -1;
}

void server_resp_parser_release(struct resp_parser *p)
{
    free(p->args);
    server_resp_parser_init(p);
}

void server_resp_parser_next(struct resp_parser *p)
{
    p->pos = 0;
    p->seen = 0;
    p->n_expected = -1;
    p->bulk_len = -1;
    p->n_args = 0;
}

static enum resp_status fail(struct resp_parser *p, const char *msg)
{
    snprintf(p->error, sizeof p->error, "Protocol error: %s", msg);
    return RESP_ERROR;
}

/* Parses an optionally negative decimal of at most 18 digits (no overflow
 * possible). Returns 0, or -1 if [s, end) is anything else. */
static int parse_int(const uint8_t *s, const uint8_t *end, int64_t *out)
{
    int neg = 0;
    if (s < end && *s == '-') {
        neg = 1;
        s++;
    }
    if (s == end || end - s > 18)
        return -1;
    int64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* Finds the "\r\n" ending the line that starts at buf[from]. Returns the
 * offset of the '\r', -1 when more bytes are needed, -2 when the line is
 * longer than RESP_MAX_LINE or has a bare '\n'. */
static long find_crlf(const uint8_t *buf, size_t from, size_t len)
{
    size_t span = len - from;
    if (span > RESP_MAX_LINE)
        span = RESP_MAX_LINE;
    const uint8_t *nl = memchr(buf + from, '\n', span);
    if (nl == NULL)
        return len - from > RESP_MAX_LINE ? -2 : -1;
    size_t at = (size_t)(nl - buf);
    if (at == from || buf[at - 1] != '\r')
        return -2;
    return (long)(at - 1);
}

static int push_arg(struct resp_parser *p, size_t off, size_t len)
{
    struct resp_arg *grown = rs_array_grow(p->args, &p->cap, p->n_args, sizeof *p->args, 16);
    if (grown == NULL)
        return -1;
    p->args = grown;
    p->args[p->n_args].off = off;
    p->args[p->n_args].len = len;
    p->n_args++;
    return 0;
}

/* "GET key\r\n": words separated by spaces or tabs, no quoting. */
static enum resp_status parse_inline(struct resp_parser *p, const uint8_t *buf, size_t len,
                                     const struct resp_limits *lim)
{
    const uint8_t *nl = memchr(buf, '\n', len > RESP_MAX_LINE ? RESP_MAX_LINE : len);
    if (nl == NULL)
        return len > RESP_MAX_LINE ? fail(p, "too big inline request") : RESP_MORE;
    size_t end = (size_t)(nl - buf);
    p->pos = end + 1;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    for (size_t i = 0; i < end;) {
        while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        size_t start = i;
        while (i < end && buf[i] != ' ' && buf[i] != '\t')
            i++;
        if (i == start)
            continue;
        if (p->n_args == lim->max_args)
            return fail(p, "too many arguments in inline request");
        if (push_arg(p, start, i - start) != 0)
            return fail(p, "out of memory");
    }
    return p->n_args == 0 ? RESP_EMPTY : RESP_DONE;
}

static enum resp_status parse_count(struct resp_parser *p, const uint8_t *buf, size_t len,
                                    const struct resp_limits *lim)
{
    long cr = find_crlf(buf, 0, len);
    if (cr == -1)
        return RESP_MORE;
    int64_t n = 0;
    if (cr == -2 || parse_int(buf + 1, buf + cr, &n) != 0 || n > (int64_t)lim->max_args)
        return fail(p, "invalid multibulk length");
    p->pos = (size_t)cr + 2;
    if (n <= 0)
        return RESP_EMPTY; /* "*0" and "*-1" carry no command; Redis skips them */
    p->n_expected = n;
    return RESP_MORE;
}

static enum resp_status parse_bulk_header(struct resp_parser *p, const uint8_t *buf, size_t len,
                                          const struct resp_limits *lim)
{
    if (buf[p->pos] != '$') {
        char msg[64];
        uint8_t c = buf[p->pos];
        snprintf(msg, sizeof msg, "expected '$', got '%c'", c >= 32 && c < 127 ? c : '?');
        return fail(p, msg);
    }
    long cr = find_crlf(buf, p->pos, len);
    if (cr == -1)
        return RESP_MORE;
    int64_t n = 0;
    if (cr == -2 || parse_int(buf + p->pos + 1, buf + cr, &n) != 0 || n < 0 || (uint64_t)n > lim->max_bulk)
        return fail(p, "invalid bulk length");
    p->bulk_len = n;
    p->pos = (size_t)cr + 2;
    return RESP_DONE;
}

enum resp_status server_resp_parse(struct resp_parser *p, const uint8_t *buf, size_t len, const struct resp_limits *lim)
{
    p->seen = len;
    if (p->n_expected < 0) {
        if (len == 0)
            return RESP_MORE;
        if (buf[0] != '*')
            return parse_inline(p, buf, len, lim);
        enum resp_status st = parse_count(p, buf, len, lim);
        if (p->n_expected < 0)
            return st;
    }
    while (p->n_args < (size_t)p->n_expected) {
        if (p->bulk_len < 0) {
            if (p->pos >= len)
                return RESP_MORE;
            enum resp_status st = parse_bulk_header(p, buf, len, lim);
            if (st != RESP_DONE)
                return st;
        }
        size_t blen = (size_t)p->bulk_len;
        if (len - p->pos < blen + 2)
            return RESP_MORE;
        if (buf[p->pos + blen] != '\r' || buf[p->pos + blen + 1] != '\n')
            return fail(p, "bulk argument not followed by CRLF");
        if (push_arg(p, p->pos, blen) != 0)
            return fail(p, "out of memory");
        p->pos += blen + 2;
        p->bulk_len = -1;
    }
    return RESP_DONE;
}

size_t server_resp_parser_need(const struct resp_parser *p)
{
    if (p->bulk_len < 0)
        return 0;
    size_t end = p->pos + (size_t)p->bulk_len + 2;
    return end > p->seen ? end - p->seen : 0;
}

/* ---- replies ---------------------------------------------------------- */

void server_resp_buf_release(struct resp_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int server_resp_buf_reserve(struct resp_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap == 0 ? 4096 : b->cap;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    uint8_t *grown = realloc(b->data, cap);
    if (grown == NULL) {
        b->oom = 1;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

void server_resp_buf_append(struct resp_buf *b, const void *p, size_t n)
{
    if (n == 0 || server_resp_buf_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

size_t server_resp_buf_compact(struct resp_buf *b)
{
    size_t shift = b->off;
    if (shift == 0)
        return 0;
    memmove(b->data, b->data + shift, b->len - shift);
    b->len -= shift;
    b->off = 0;
    return shift;
}

/* A status or error line: CR and LF inside it would end it early and let
 * the rest pass as another reply, so they become spaces (as in Redis). */
static void add_line(struct resp_buf *b, char type, const char *s)
{
    size_t n = strlen(s);
    if (server_resp_buf_reserve(b, n + 3) != 0)
        return;
    b->data[b->len++] = (uint8_t)type;
    for (size_t i = 0; i < n; i++)
        b->data[b->len + i] = s[i] == '\r' || s[i] == '\n' ? ' ' : (uint8_t)s[i];
    b->len += n;
    b->data[b->len++] = '\r';
    b->data[b->len++] = '\n';
}

static void add_number(struct resp_buf *b, char type, int64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)v);
    add_line(b, type, num);
}

void server_resp_add_simple(struct resp_buf *b, const char *s) { add_line(b, '+', s); }
void server_resp_add_error(struct resp_buf *b, const char *msg) { add_line(b, '-', msg); }
void server_resp_add_int(struct resp_buf *b, int64_t v) { add_number(b, ':', v); }
void server_resp_add_array(struct resp_buf *b, size_t n) { add_number(b, '*', (int64_t)n); }
void server_resp_add_null(struct resp_buf *b) { server_resp_buf_append(b, "$-1\r\n", 5); }

void server_resp_add_bulk(struct resp_buf *b, const void *p, size_t len)
{
    if (server_resp_buf_reserve(b, len + 32) != 0)
        return;
    add_number(b, '$', (int64_t)len);
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len++] = '\r';
    b->data[b->len++] = '\n';
}

void server_resp_add_bulk_str(struct resp_buf *b, const char *s) { server_resp_add_bulk(b, s, strlen(s)); }
