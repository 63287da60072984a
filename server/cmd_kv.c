/*
 * String commands over the store: GET, SET (NX/XX), MGET, MSET, DEL,
 * EXISTS, INCR, INCRBY, DECR, DECRBY, and rockstream's GETAT (a read at a
 * version of the versioned state).
 *
 * Atomicity: every command runs whole on the loop thread, and the loop is
 * the only writer of the store in this process (RocksDB's lock keeps other
 * processes out), so a read-modify-write such as INCR or SET NX cannot
 * interleave with another write; no lock is needed. Whoever adds a second
 * writer thread must add one.
 *
 * Expiry (EX, PX, ...) is refused rather than ignored: a key that silently
 * never expires is worse than an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cmd.h"

/* Reads key argument i. Returns 1 (found: release *v), 0 (missing) or -1
 * (failed, error replied). Counts hits and misses for INFO. */
static int read_key(struct cmd_ctx *x, size_t i, rs_store_value *v)
{
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_get(server_reader(x), NULL, arg_ptr(x, i), arg_len(x, i), v, &err);
    if (rc == RS_OK) {
        x->srv->stats.keyspace_hits++;
        return 1;
    }
    if (rc == RS_E_NOTFOUND) {
        x->srv->stats.keyspace_misses++;
        return 0;
    }
    server_reply_rs_err(x, &err);
    return -1;
}

/* GET gathers its key (struct get_batch); server_flush_reads replies. */
static void get_cmd(struct cmd_ctx *x)
{
    struct get_batch *g = &x->srv->gets;
    server_flush_writes(x->srv); /* the read sees every earlier write */
    if (g->n == SERVER_GET_BATCH || (g->n > 0 && g->c != x->c))
        server_flush_reads(x->srv);
    g->c = x->c;
    g->keys[g->n] = arg_ptr(x, 1);
    g->lens[g->n] = arg_len(x, 1);
    g->n++;
}

void server_flush_reads(struct server *srv)
{
    struct get_batch *g = &srv->gets;
    size_t n = g->n;
    if (n == 0)
        return;
    g->n = 0;
    struct cmd_ctx x = {.srv = srv, .c = g->c};
    rs_store_value vals[SERVER_GET_BATCH];
    rs_code codes[SERVER_GET_BATCH];
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_multi_get(srv->store, NULL, n, g->keys, g->lens, vals, codes, &err);
    for (size_t i = 0; i < n; i++) {
        if (x.c->flags & CLIENT_CLOSED || server_client_close_if_over_output(srv, x.c)) {
            /* the bound each GET had before it was gathered */
            for (; rc == RS_OK && i < n; i++)
                rs_store_value_release(&vals[i]);
            break;
        }
        if (rc != RS_OK) {
            server_reply_rs_err(&x, &err);
        } else if (codes[i] == RS_OK) {
            srv->stats.keyspace_hits++;
            server_resp_add_bulk(reply_buf(&x), vals[i].data, vals[i].len);
            rs_store_value_release(&vals[i]);
        } else if (codes[i] == RS_E_NOTFOUND) {
            srv->stats.keyspace_misses++;
            server_resp_add_null(reply_buf(&x));
        } else {
            server_reply_rs_err(&x, &err); /* the first per-key error: a damaged block, most likely */
        }
    }
    if (!(x.c->flags & CLIENT_CLOSED) && x.c->out.oom)
        server_client_close(srv, x.c, "out of memory for replies");
}

/* GETAT key version: the value key had at that version of the versioned
 * state (rs_store_get_at); nil when it was absent then; an error naming
 * the readable range for a pruned or future version. */
static void getat_cmd(struct cmd_ctx *x)
{
    int64_t version = 0;
    if (server_arg_int64(x, 2, &version) != 0)
        return;
    if (version < 1) {
        server_reply_errorf(x, "ERR version %lld: versions start at 1", (long long)version);
        return;
    }
    rs_store_value v = {0};
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_get_at(server_reader(x), (uint64_t)version, arg_ptr(x, 1), arg_len(x, 1), &v, &err);
    if (rc == RS_OK) {
        x->srv->stats.keyspace_hits++;
        server_resp_add_bulk(reply_buf(x), v.data, v.len);
    } else if (rc == RS_E_NOTFOUND && err.code == RS_OK) {
        x->srv->stats.keyspace_misses++;
        server_resp_add_null(reply_buf(x));
    } else {
        server_reply_rs_err(x, &err);
    }
    rs_store_value_release(&v);
}

/* ---- SET -------------------------------------------------------------- */

enum { SET_NX = 1, SET_XX = 2 };

/* Parses SET's options; replies and returns -1 on a bad one. */
static int set_options(struct cmd_ctx *x, int *flags)
{
    static const char *const expiry[] = {"EX", "PX", "EXAT", "PXAT", "KEEPTTL"};
    *flags = 0;
    for (size_t i = 3; i < x->argc; i++) {
        if (server_arg_is(x, i, "NX")) {
            *flags |= SET_NX;
            continue;
        }
        if (server_arg_is(x, i, "XX")) {
            *flags |= SET_XX;
            continue;
        }
        for (size_t e = 0; e < sizeof expiry / sizeof expiry[0]; e++) {
            if (server_arg_is(x, i, expiry[e])) {
                server_reply_errorf(x, "ERR SET %s is not supported: rockstream keeps no expiry, keys live until deleted",
                             expiry[e]);
                return -1;
            }
        }
        server_reply_syntax_error(x);
        return -1;
    }
    if (*flags == (SET_NX | SET_XX)) {
        server_reply_syntax_error(x);
        return -1;
    }
    return 0;
}

static void set_cmd(struct cmd_ctx *x)
{
    int flags = 0;
    if (set_options(x, &flags) != 0)
        return;
    if (flags != 0) {
        rs_store_value v = {0};
        int found = read_key(x, 1, &v);
        rs_store_value_release(&v);
        if (found < 0)
            return;
        if ((flags == SET_NX && found) || (flags == SET_XX && !found)) {
            server_resp_add_null(reply_buf(x));
            return;
        }
    }
    rs_store_batch_put(x->srv->batch, arg_ptr(x, 1), arg_len(x, 1), arg_ptr(x, 2), arg_len(x, 2));
    server_write_defer(x);
    server_reply_ok(x);
}

static void mset_cmd(struct cmd_ctx *x)
{
    if (x->argc % 2 != 1) {
        server_reply_errorf(x, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    for (size_t i = 1; i < x->argc; i += 2)
        rs_store_batch_put(x->srv->batch, arg_ptr(x, i), arg_len(x, i), arg_ptr(x, i + 1), arg_len(x, i + 1));
    server_write_defer(x);
    server_reply_ok(x);
}

/* ---- many keys at once ------------------------------------------------ */

/* The keys argv[1..argc) read in one multi-get. */
struct multi {
    size_t n;
    const uint8_t **keys;
    size_t *lens;
    rs_store_value *vals;
    rs_code *codes;
};

static void multi_release(struct multi *m)
{
    for (size_t i = 0; m->vals != NULL && i < m->n; i++)
        rs_store_value_release(&m->vals[i]);
    free(m->keys);
    free(m->lens);
    free(m->vals);
    free(m->codes);
}

/* Returns 0, or -1 with the error replied. */
static int multi_get(struct cmd_ctx *x, struct multi *m)
{
    m->n = x->argc - 1;
    m->keys = malloc(m->n * sizeof *m->keys);
    m->lens = malloc(m->n * sizeof *m->lens);
    m->vals = calloc(m->n, sizeof *m->vals);
    m->codes = malloc(m->n * sizeof *m->codes);
    if (m->keys == NULL || m->lens == NULL || m->vals == NULL || m->codes == NULL) {
        server_reply_errorf(x, "ERR out of memory reading %zu keys", m->n);
        return -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        m->keys[i] = arg_ptr(x, i + 1);
        m->lens[i] = arg_len(x, i + 1);
    }
    rs_err err = RS_ERR_INIT;
    if (rs_store_multi_get(server_reader(x), NULL, m->n, m->keys, m->lens, m->vals, m->codes, &err) != RS_OK ||
        err.code != RS_OK) {
        server_reply_rs_err(x, &err);
        return -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (m->codes[i] == RS_OK)
            x->srv->stats.keyspace_hits++;
        else
            x->srv->stats.keyspace_misses++;
    }
    return 0;
}

static void mget_cmd(struct cmd_ctx *x)
{
    struct multi m = {0};
    if (multi_get(x, &m) == 0) {
        server_resp_add_array(reply_buf(x), m.n);
        for (size_t i = 0; i < m.n; i++) {
            if (m.codes[i] == RS_OK)
                server_resp_add_bulk(reply_buf(x), m.vals[i].data, m.vals[i].len);
            else
                server_resp_add_null(reply_buf(x));
        }
    }
    multi_release(&m);
}

static void exists_cmd(struct cmd_ctx *x)
{
    struct multi m = {0};
    if (multi_get(x, &m) == 0) {
        int64_t n = 0;
        for (size_t i = 0; i < m.n; i++)
            n += m.codes[i] == RS_OK; /* a key named twice counts twice, as in Redis */
        server_resp_add_int(reply_buf(x), n);
    }
    multi_release(&m);
}

static struct multi *sort_ctx;

static int by_key(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t li = sort_ctx->lens[i], lj = sort_ctx->lens[j];
    int d = memcmp(sort_ctx->keys[i], sort_ctx->keys[j], li < lj ? li : lj);
    return d != 0 ? d : (li > lj) - (li < lj);
}

/* How many different keys of m exist: DEL k k deletes one key. */
static size_t count_distinct_found(struct multi *m, size_t *found)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->codes[i] == RS_OK)
            found[n++] = i;
    sort_ctx = m; /* the loop is one thread; qsort has no context argument */
    qsort(found, n, sizeof *found, by_key);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || by_key(&found[i - 1], &found[i]) != 0;
    return distinct;
}

static void del_cmd(struct cmd_ctx *x)
{
    struct multi m = {0};
    size_t *found = NULL;
    if (multi_get(x, &m) == 0) {
        found = malloc(m.n * sizeof *found);
        if (found == NULL) {
            server_reply_errorf(x, "ERR out of memory deleting %zu keys", m.n);
        } else {
            size_t distinct = count_distinct_found(&m, found);
            for (size_t i = 0; i < m.n; i++)
                if (m.codes[i] == RS_OK)
                    rs_store_batch_delete(x->srv->batch, m.keys[i], m.lens[i]);
            if (distinct > 0)
                server_write_defer(x);
            server_resp_add_int(reply_buf(x), (int64_t)distinct);
        }
    }
    free(found);
    multi_release(&m);
}

/* ---- counters --------------------------------------------------------- */

static void incr_by(struct cmd_ctx *x, int64_t delta)
{
    rs_store_value v = {0};
    int found = read_key(x, 1, &v);
    if (found < 0)
        return;
    int64_t cur = 0;
    int bad = found && server_parse_int64(v.data, v.len, &cur) != 0;
    rs_store_value_release(&v);
    if (bad) {
        server_reply_errorf(x, "ERR value is not an integer or out of range");
        return;
    }
    if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta)) {
        server_reply_errorf(x, "ERR increment or decrement would overflow");
        return;
    }
    char num[24];
    int len = snprintf(num, sizeof num, "%lld", (long long)(cur + delta));
    rs_store_batch_put(x->srv->batch, arg_ptr(x, 1), arg_len(x, 1), (const uint8_t *)num, (size_t)len);
    server_write_defer(x);
    server_resp_add_int(reply_buf(x), cur + delta);
}

static void incr_cmd(struct cmd_ctx *x) { incr_by(x, 1); }
static void decr_cmd(struct cmd_ctx *x) { incr_by(x, -1); }

static void incrby_cmd(struct cmd_ctx *x)
{
    int64_t delta = 0;
    if (server_arg_int64(x, 2, &delta) == 0)
        incr_by(x, delta);
}

static void decrby_cmd(struct cmd_ctx *x)
{
    int64_t delta = 0;
    if (server_arg_int64(x, 2, &delta) != 0)
        return;
    if (delta == INT64_MIN) {
        server_reply_errorf(x, "ERR decrement would overflow");
        return;
    }
    incr_by(x, -delta);
}

#define W (CMD_WRITE | CMD_DATA)
static const struct server_cmd cmds[] = {
    {"get", 2, CMD_DATA | CMD_GATHERED, get_cmd, "string", "Returns the value of a key", "key"},
    {"getat", 3, CMD_DATA, getat_cmd, "string", "Returns the value a key had at a version of the versioned state",
     "key version"},
    {"set", -3, W, set_cmd, "string", "Sets the value of a key (NX or XX; no expiry)", "key value [NX|XX]"},
    {"mget", -2, CMD_DATA, mget_cmd, "string", "Returns the values of keys", "key [key ...]"},
    {"mset", -3, W, mset_cmd, "string", "Sets keys to values in one atomic write", "key value [key value ...]"},
    {"del", -2, W, del_cmd, "generic", "Deletes keys; returns how many existed", "key [key ...]"},
    {"exists", -2, CMD_DATA, exists_cmd, "generic", "Counts the given keys that exist", "key [key ...]"},
    {"incr", 2, W, incr_cmd, "string", "Adds 1 to the integer value of a key", "key"},
    {"incrby", 3, W, incrby_cmd, "string", "Adds a number to the integer value of a key", "key increment"},
    {"decr", 2, W, decr_cmd, "string", "Subtracts 1 from the integer value of a key", "key"},
    {"decrby", 3, W, decrby_cmd, "string", "Subtracts a number from the integer value of a key", "key decrement"},
};
#undef W

const struct server_cmd_set server_cmds_kv = {cmds, sizeof cmds / sizeof cmds[0]};
