/*
 * The command table and dispatch, in the manner of Redis's
 * processCommand(): look the name up, check the arity, refuse writes on a
 * read-only server, run the command, and park its reply if it read or
 * wrote data that is not durable yet. Also the small helpers every command
 * uses to parse arguments and reply.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/server_int.h"
#include "common/log.h"

/* Every group of commands. A new group is a new server_cmds_*.c and a line
 * here. */
static const struct server_cmd_set *const sets[] = {
    &server_cmds_kv, &server_cmds_keyspace, &server_cmds_conn, &server_cmds_info, &server_cmds_snapshot, &server_cmds_repl,
};

#define MAX_COMMANDS 64
#define MAX_NAME 32

static const struct server_cmd *index_by_name[MAX_COMMANDS];
static size_t n_index;

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const struct server_cmd *const *)a)->name, (*(const struct server_cmd *const *)b)->name);
}

rs_code server_cmds_init(rs_err *err)
{
    if (n_index != 0)
        return RS_OK;
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        for (size_t i = 0; i < sets[s]->n; i++) {
            if (n_index == MAX_COMMANDS)
                return rs_err_set(err, RS_E_INTERNAL, "serve: more than %d commands", MAX_COMMANDS);
            index_by_name[n_index++] = &sets[s]->cmds[i];
        }
    }
    qsort(index_by_name, n_index, sizeof index_by_name[0], by_name);
    return RS_OK;
}

size_t server_cmds_count(void) { return n_index; }
const struct server_cmd *server_cmds_at(size_t i) { return index_by_name[i]; }

static const struct server_cmd *lookup(const uint8_t *name, size_t len)
{
    char lower[MAX_NAME];
    if (len == 0 || len >= sizeof lower)
        return NULL;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    lower[len] = '\0';
    size_t lo = 0, hi = n_index;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(lower, index_by_name[mid]->name);
        if (d == 0)
            return index_by_name[mid];
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- replies ---------------------------------------------------------- */

void reply_ok(struct cmd_ctx *x) { resp_buf_append(&x->c->out, "+OK\r\n", 5); }

void reply_errorf(struct cmd_ctx *x, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp_add_error(&x->c->out, msg);
}

void reply_syntax_error(struct cmd_ctx *x) { reply_errorf(x, "ERR syntax error"); }

/* Redis 7's wording, so clients that match on it keep working. */
static void reply_unknown(struct cmd_ctx *x)
{
    char args[160] = "";
    size_t used = 0;
    for (size_t i = 1; i < x->argc && used < 128; i++) {
        int n = snprintf(args + used, sizeof args - used, "'%.*s' ", (int)(128 - used > arg_len(x, i)
                                                                           ? arg_len(x, i) : 128 - used),
                         (const char *)arg_ptr(x, i));
        if (n < 0 || (size_t)n >= sizeof args - used)
            break;
        used += (size_t)n;
    }
    int name_len = arg_len(x, 0) > 128 ? 128 : (int)arg_len(x, 0);
    reply_errorf(x, "ERR unknown command '%.*s', with args beginning with: %s", name_len,
                 (const char *)arg_ptr(x, 0), args);
}

/* ---- arguments -------------------------------------------------------- */

int arg_is(const struct cmd_ctx *x, size_t i, const char *s)
{
    size_t n = strlen(s);
    return arg_len(x, i) == n && strncasecmp((const char *)arg_ptr(x, i), s, n) == 0;
}

int parse_int64(const uint8_t *p, size_t len, int64_t *out)
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

int arg_int64(struct cmd_ctx *x, size_t i, int64_t *out)
{
    if (parse_int64(arg_ptr(x, i), arg_len(x, i), out) == 0)
        return 0;
    reply_errorf(x, "ERR value is not an integer or out of range");
    return -1;
}

/* ---- writes ----------------------------------------------------------- */

void reply_rs_err(struct cmd_ctx *x, const rs_err *err)
{
    /* the store refuses writes on a read-only open with RS_E_UNSUPPORTED */
    const char *prefix = err->code == RS_E_UNSUPPORTED ? "READONLY" : "ERR";
    reply_errorf(x, "%s %s", prefix, err->msg[0] != '\0' ? err->msg : rs_code_name(err->code));
}

void server_write_defer(struct cmd_ctx *x)
{
    struct server *srv = x->srv;
    if (srv->deferred_client != x->c) {
        server_flush_writes(srv); /* another client's: cannot happen, see run_requests */
        srv->deferred_client = x->c;
        srv->deferred_off = x->reply_off;
    }
}

void server_flush_writes(struct server *srv)
{
    struct client *c = srv->deferred_client;
    if (c == NULL)
        return;
    srv->deferred_client = NULL;
    rs_err err = RS_ERR_INIT;
    uint64_t seq = 0;
    rs_code rc = rs_store_write_nowait(srv->store, srv->batch, &seq, &err);
    rs_store_batch_clear(srv->batch);
    if (rc != RS_OK) {
        RS_LOG_ERR("serve: write failed, closing client id=%llu addr=%s: %s", (unsigned long long)c->id, c->addr,
                   err.msg);
        client_close(srv, c, "write failed");
        return;
    }
    if (seq > srv->last_write_seq)
        srv->last_write_seq = seq;
    client_hold(srv, c, srv->deferred_off, seq);
}

rs_store *server_reader(struct cmd_ctx *x)
{
    server_flush_writes(x->srv);
    return x->srv->store;
}

/* ---- dispatch --------------------------------------------------------- */

/* A versioned database is written only by versioned commits (the store
 * refuses plain writes, docs/versioned-state.md): refused before the
 * command runs, so no OK is ever queued for a write that cannot happen. */
static void reply_versioned(struct cmd_ctx *x)
{
    reply_errorf(x, "READONLY database holds versioned state (latest version %llu): it is written only by "
                    "versioned commits (rs_store_commit); reads, GETAT and SNAPSHOT work",
                 (unsigned long long)rs_store_version_latest(x->srv->store));
}

static int arity_ok(const struct server_cmd *cmd, size_t argc)
{
    return cmd->arity >= 0 ? argc == (size_t)cmd->arity : argc >= (size_t)-cmd->arity;
}

void server_dispatch(struct server *srv, struct client *c, const uint8_t *base, const struct resp_arg *args,
                     size_t argc)
{
    struct cmd_ctx x = {.srv = srv, .c = c, .base = base, .args = args, .argc = argc};
    if (client_close_if_over_output(srv, c))
        return;
    srv->stats.commands_processed++;
    c->n_commands++;
    const struct server_cmd *cmd = lookup(arg_ptr(&x, 0), arg_len(&x, 0));
    /* replies leave in request order: the gathered GETs' go first */
    if (cmd == NULL || !(cmd->flags & CMD_GATHERED))
        server_flush_reads(srv);
    if (cmd == NULL) {
        reply_unknown(&x);
    } else if (!arity_ok(cmd, argc)) {
        reply_errorf(&x, "ERR wrong number of arguments for '%s' command", cmd->name);
    } else if ((cmd->flags & CMD_WRITE) && srv->read_only) {
        reply_errorf(&x, "READONLY You can't write against a read only server");
    } else if ((cmd->flags & CMD_WRITE) && rs_store_is_versioned(srv->store)) {
        reply_versioned(&x);
    } else {
        x.reply_off = c->out.len;
        cmd->proc(&x);
        if (cmd->flags & CMD_DATA)
            client_hold(srv, c, x.reply_off, srv->last_write_seq);
    }
    if (c->out.oom)
        client_close(srv, c, "out of memory for replies");
}
