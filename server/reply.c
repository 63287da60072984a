/*
 * What every command uses to read its arguments and write its reply:
 * Redis's strict integer parse, keyword matching, and the error replies
 * in Redis's words.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/cmd.h"

/* ---- replies ------------------------------------------------------------- */

void server_reply_ok(struct cmd_ctx *x) { server_resp_buf_append(&x->c->out, "+OK\r\n", 5); }

void server_reply_errorf(struct cmd_ctx *x, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    server_resp_add_error(&x->c->out, msg);
}

void server_reply_syntax_error(struct cmd_ctx *x) { server_reply_errorf(x, "ERR syntax error"); }

void server_reply_rs_err(struct cmd_ctx *x, const rs_err *err)
{
    /* the store refuses writes on a read-only open with RS_E_UNSUPPORTED */
    const char *prefix = err->code == RS_E_UNSUPPORTED ? "READONLY" : "ERR";
    server_reply_errorf(x, "%s %s", prefix, err->msg[0] != '\0' ? err->msg : rs_code_name(err->code));
}

void server_reply_field_str(struct resp_buf *b, const char *name, const char *value)
{
    server_resp_add_bulk_str(b, name);
    server_resp_add_bulk_str(b, value);
}

void server_reply_field_int(struct resp_buf *b, const char *name, int64_t value)
{
    server_resp_add_bulk_str(b, name);
    server_resp_add_int(b, value);
}

/* ---- arguments ------------------------------------------------------------- */

int server_arg_is(const struct cmd_ctx *x, size_t i, const char *s)
{
    size_t n = strlen(s);
    return arg_len(x, i) == n && strncasecmp((const char *)arg_ptr(x, i), s, n) == 0;
}

int server_parse_int64(const uint8_t *p, size_t len, int64_t *out)
{
    if (len == 0 || len > 20)
        return -1;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return 0;
    }
    size_t i = p[0] == '-' ? 1 : 0;
    if (i == len || p[i] < '1' || p[i] > '9')
        return -1; /* no "+1", " 1", "01" or "-0": the one spelling Redis accepts */
    uint64_t v = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = p[i] - '0';
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (p[0] == '-') {
        if (v > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

int server_arg_int64(struct cmd_ctx *x, size_t i, int64_t *out)
{
    if (server_parse_int64(arg_ptr(x, i), arg_len(x, i), out) == 0)
        return 0;
    server_reply_errorf(x, "ERR value is not an integer or out of range");
    return -1;
}
