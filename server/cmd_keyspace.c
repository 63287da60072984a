/*
 * The keyspace as a whole: SCAN and DBSIZE.
 *
 * SCAN cursors. Redis clients (redis-cli --scan among them) read the cursor
 * as an unsigned 64-bit number, but our keyspace is byte-ordered, so "where
 * to go on" is a key, which does not fit in 64 bits. The cursor is
 * therefore a handle: the server keeps the next key in a table of
 * CURSOR_SLOTS slots, reused round robin, and hands out
 * (generation << CURSOR_SLOT_BITS | slot). A cursor stays valid until
 * CURSOR_SLOTS later SCAN calls (server-wide) reuse its slot, or the server
 * restarts; then SCAN says so and the client starts again from 0. Each call
 * leaves its own cursor untouched, so a client may retry a call.
 * What Redis promises still holds: a full iteration returns every key that
 * existed from its start to its end (keys are visited in order, and the
 * cursor is the next key not yet returned), and may return keys added or
 * removed meanwhile.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "server/glob.h"
#include "server/cmd.h"

#define CURSOR_SLOT_BITS 12
#define CURSOR_SLOTS (1u << CURSOR_SLOT_BITS)
/* COUNT above this is lowered to it: one SCAN must not stall the loop */
#define SCAN_MAX_COUNT 100000

struct cursor_slot {
    uint64_t id;
    uint8_t *key;
    size_t   len;
};

struct scan_cursors {
    struct cursor_slot slots[CURSOR_SLOTS];
    uint64_t generation;
    size_t   next_slot;
};

rs_code server_scan_cursors_create(struct scan_cursors **out, rs_err *err)
{
    struct scan_cursors *cur = calloc(1, sizeof *cur);
    if (cur == NULL)
        return rs_err_set(err, RS_E_NOMEM, "serve: out of memory");
    /* a random start, so a cursor from before a restart is not mistaken
     * for one of this run */
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = 1;
    cur->generation = r;
    *out = cur;
    return RS_OK;
}

void server_scan_cursors_destroy(struct scan_cursors *cur)
{
    if (cur == NULL)
        return;
    for (size_t i = 0; i < CURSOR_SLOTS; i++)
        free(cur->slots[i].key);
    free(cur);
}

/* Keeps key as a new cursor; returns its number, or 0 when out of memory. */
static uint64_t cursor_save(struct scan_cursors *cur, const uint8_t *key, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, key, len);
    size_t slot = cur->next_slot++ % CURSOR_SLOTS;
    free(cur->slots[slot].key);
    /* stays below 2^63: some clients parse cursors as signed */
    cur->generation = (cur->generation + 1) & ((1ull << (63 - CURSOR_SLOT_BITS)) - 1);
    if (cur->generation == 0)
        cur->generation = 1;
    cur->slots[slot] = (struct cursor_slot){(cur->generation << CURSOR_SLOT_BITS) | slot, copy, len};
    return cur->slots[slot].id;
}

static const struct cursor_slot *cursor_find(const struct scan_cursors *cur, uint64_t id)
{
    const struct cursor_slot *s = &cur->slots[id & (CURSOR_SLOTS - 1)];
    return s->id == id && s->key != NULL ? s : NULL;
}

/* ---- SCAN ------------------------------------------------------------- */

struct scan_req {
    uint64_t cursor;
    const uint8_t *match;
    size_t match_len;
    int64_t count;
    int none; /* TYPE other than string: nothing matches */
};

static int parse_cursor(const uint8_t *p, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - (p[i] - '0')) / 10)
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static int scan_parse(struct cmd_ctx *x, struct scan_req *q)
{
    *q = (struct scan_req){.count = 10};
    if (parse_cursor(arg_ptr(x, 1), arg_len(x, 1), &q->cursor) != 0) {
        server_reply_errorf(x, "ERR invalid cursor");
        return -1;
    }
    for (size_t i = 2; i < x->argc; i += 2) {
        if (i + 1 >= x->argc) {
            server_reply_syntax_error(x);
            return -1;
        }
        if (server_arg_is(x, i, "MATCH")) {
            q->match = arg_ptr(x, i + 1);
            q->match_len = arg_len(x, i + 1);
        } else if (server_arg_is(x, i, "COUNT")) {
            if (server_arg_int64(x, i + 1, &q->count) != 0)
                return -1;
            if (q->count < 1) {
                server_reply_syntax_error(x);
                return -1;
            }
        } else if (server_arg_is(x, i, "TYPE")) {
            q->none = !server_arg_is(x, i + 1, "string"); /* every rockstream value is a string */
        } else {
            server_reply_syntax_error(x);
            return -1;
        }
    }
    if (q->count > SCAN_MAX_COUNT)
        q->count = SCAN_MAX_COUNT;
    return 0;
}

/* Visits up to q->count keys from start; matching ones go into keys (a
 * RESP body) and their number into *n. Returns the next cursor (0: done),
 * or -1 with the error replied. */
static int64_t scan_keys(struct cmd_ctx *x, const struct scan_req *q, const struct cursor_slot *start,
                         struct resp_buf *keys, size_t *n)
{
    uint8_t *prefix = q->match != NULL ? malloc(q->match_len + 1) : NULL;
    rs_store_range r = {0};
    if (prefix != NULL) {
        r.prefix = prefix;
        r.prefix_len = server_glob_literal_prefix(q->match, q->match_len, prefix);
    }
    if (start != NULL) {
        r.start = start->key;
        r.start_len = start->len;
    }
    rs_err err = RS_ERR_INIT;
    rs_store_iter *it = NULL;
    int64_t next = 0;
    if (rs_store_iter_open(server_reader(x), NULL, &r, &it, &err) == RS_OK) {
        const uint8_t *k, *v;
        size_t klen, vlen;
        for (int64_t seen = 0; rs_store_iter_next(it, &k, &klen, &v, &vlen); seen++) {
            if (seen == q->count) {
                next = (int64_t)cursor_save(x->srv->cursors, k, klen);
                if (next == 0)
                    rs_err_set(&err, RS_E_NOMEM, "out of memory for the cursor");
                break;
            }
            if (!q->none && (q->match == NULL || server_glob_match(q->match, q->match_len, k, klen))) {
                server_resp_add_bulk(keys, k, klen);
                (*n)++;
            }
        }
        rs_store_iter_status(it, &err);
        rs_store_iter_close(it);
    }
    free(prefix);
    if (err.code != RS_OK) {
        server_reply_rs_err(x, &err);
        return -1;
    }
    return next;
}

static void scan_cmd(struct cmd_ctx *x)
{
    struct scan_req q;
    if (scan_parse(x, &q) != 0)
        return;
    const struct cursor_slot *start = NULL;
    if (q.cursor != 0 && (start = cursor_find(x->srv->cursors, q.cursor)) == NULL) {
        server_reply_errorf(x, "ERR invalid cursor: unknown to this server (expired, or from before a restart); "
                        "start again from 0");
        return;
    }
    struct resp_buf keys = {0};
    size_t n = 0;
    int64_t next = scan_keys(x, &q, start, &keys, &n);
    if (next >= 0 && keys.oom) {
        server_reply_errorf(x, "ERR out of memory for the SCAN reply");
    } else if (next >= 0) {
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long)next);
        server_resp_add_array(reply_buf(x), 2);
        server_resp_add_bulk_str(reply_buf(x), num);
        server_resp_add_array(reply_buf(x), n);
        server_resp_buf_append(reply_buf(x), keys.data, keys.len);
    }
    server_resp_buf_release(&keys);
}

/* ---- DBSIZE ----------------------------------------------------------- */

/* RocksDB's estimate, not a count: counting would read every key. It is
 * exact after a compaction and drifts with overwrites and deletes. */
static void dbsize_cmd(struct cmd_ctx *x)
{
    char *v = rs_store_property(server_reader(x), "rocksdb.estimate-num-keys");
    server_resp_add_int(reply_buf(x), v != NULL ? strtoll(v, NULL, 10) : 0);
    free(v);
}

static const struct server_cmd cmds[] = {
    {"scan", -2, CMD_DATA, scan_cmd, "generic", "Iterates over the keys in order (see docs/server.md: cursors)",
     "cursor [MATCH pattern] [COUNT count] [TYPE type]"},
    {"dbsize", 1, CMD_DATA, dbsize_cmd, "server", "Returns RocksDB's estimate of the number of keys", ""},
};

const struct server_cmd_set server_cmds_keyspace = {cmds, sizeof cmds / sizeof cmds[0]};
