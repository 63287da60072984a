/*
 * What the command families (cmd_*.c) share, private to server/: the
 * command table and its shape, dispatch, gathered writes and reads, the
 * helpers that parse arguments and write replies, and the pieces of
 * state a command family keeps (SCAN's cursors, SNAPSHOT's directory,
 * AUTH's digest).
 */
#ifndef RS_SERVER_CMD_H
#define RS_SERVER_CMD_H

#include "server/server_int.h"

/* ---- commands (cmdtable.c, dispatch.c) ----------------------------------- */

enum cmd_flag {
    CMD_WRITE = (1u << 0),    /* changes data: refused when read-only */
    CMD_DATA = (1u << 1),     /* reads or writes keys: its reply waits until
                                 every write before it is durable */
    CMD_GATHERED = (1u << 2), /* replies later, through server_flush_reads
                                 (GET): the gathered reads stay pending */
    CMD_NOAUTH = (1u << 3),   /* runs before AUTH (AUTH, HELLO, QUIT) */
    CMD_ADMIN = (1u << 4),    /* may be renamed or disabled (rename-command) */
};

struct cmd_ctx {
    struct server *srv;
    struct client *c;
    size_t reply_off;             /* where this command's reply starts */
    const uint8_t *base;          /* the request; args are offsets into it */
    const struct resp_arg *args;
    size_t argc;
};

/* One command, in the manner of Redis's struct redisCommand. arity counts
 * the command name: N means exactly N arguments, -N at least N. Two rows
 * with the same proc are names of one command (REPLICAOF, SLAVEOF). */
struct server_cmd {
    const char *name;     /* lower case */
    int         arity;
    unsigned    flags;
    void      (*proc)(struct cmd_ctx *x);
    const char *group;    /* for COMMAND DOCS: "string", "keyspace", ... */
    const char *summary;
    const char *params;   /* the arguments, as in Redis's docs */
};

/* A file's commands. Each cmd_*.c exports one; cmdtable.c lists them, so
 * a new family of commands is one new file and one line there. */
struct server_cmd_set {
    const struct server_cmd *cmds;
    size_t n;
};

extern const struct server_cmd_set server_cmds_kv, server_cmds_keyspace, server_cmds_conn, server_cmds_auth,
    server_cmds_info, server_cmds_snapshot, server_cmds_repl;

/* Builds the table every command of every set, named as renames say. */
rs_code server_cmd_table_create(const rs_server_rename *renames, size_t n, struct server_cmd_table **out,
                                rs_err *err);
void server_cmd_table_destroy(struct server_cmd_table *t);
/* The command called name (any case), or NULL. */
const struct server_cmd *server_cmd_lookup(const struct server_cmd_table *t, const uint8_t *name, size_t len);
/* Every callable command, in name order: its name here, and the command. */
size_t server_cmd_count(const struct server_cmd_table *t);
const struct server_cmd *server_cmd_at(const struct server_cmd_table *t, size_t i, const char **name);

/* Runs one parsed request for c. */
void server_dispatch(struct server *srv, struct client *c, const uint8_t *base, const struct resp_arg *args,
                     size_t argc);

/* A write command has put its writes into srv->batch and replies at once:
 * the writes are applied by server_flush_writes, and the reply (and every
 * reply after it) waits until they are durable. */
void server_write_defer(struct cmd_ctx *x);
/* Applies the gathered writes. Called before anything reads the store (so
 * reads see every earlier write) and after each client's requests. If the
 * store refuses the write, the client's connection is closed: its OK
 * replies are queued but must never be sent. */
void server_flush_writes(struct server *srv);
/* The store, for reading: flushes the gathered writes first. */
rs_store *server_reader(struct cmd_ctx *x);
/* Reads the gathered GETs and appends their replies (cmd_kv.c). */
void server_flush_reads(struct server *srv);

/* ---- arguments and replies (reply.c) -------------------------------------- */

static inline const uint8_t *arg_ptr(const struct cmd_ctx *x, size_t i) { return x->base + x->args[i].off; }
static inline size_t arg_len(const struct cmd_ctx *x, size_t i) { return x->args[i].len; }
/* At most max bytes of argument i, for "%.*s" in a message. */
static inline int arg_shown(const struct cmd_ctx *x, size_t i, size_t max)
{
    return (int)(arg_len(x, i) > max ? max : arg_len(x, i));
}

/* Non-zero if argument i equals s, ignoring case (option keywords). */
int server_arg_is(const struct cmd_ctx *x, size_t i, const char *s);
/* Parses argument i as a signed 64-bit integer, strictly as Redis does;
 * returns 0, or replies "value is not an integer or out of range" and -1. */
int server_arg_int64(struct cmd_ctx *x, size_t i, int64_t *out);
/* The same strict parse for any bytes (a stored value for INCR). */
int server_parse_int64(const uint8_t *p, size_t len, int64_t *out);

static inline struct resp_buf *reply_buf(struct cmd_ctx *x) { return &x->c->out; }
void server_reply_ok(struct cmd_ctx *x);
void server_reply_errorf(struct cmd_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void server_reply_syntax_error(struct cmd_ctx *x);
/* Replies an rs_err with the Redis prefix its code maps to. */
void server_reply_rs_err(struct cmd_ctx *x, const rs_err *err);
/* A field and its value, the RESP2 shape of a map's entry (HELLO, SNAPSHOT). */
void server_reply_field_str(struct resp_buf *b, const char *name, const char *value);
void server_reply_field_int(struct resp_buf *b, const char *name, int64_t value);

/* Names the client after argument i (CLIENT SETNAME, HELLO SETNAME):
 * returns 0, or -1 with the error replied (cmd_conn.c). */
int server_client_setname(struct cmd_ctx *x, size_t i);

/* ---- AUTH (cmd_auth.c) ---------------------------------------------------- */

/* The keyed digest AUTH compares in constant time. */
void server_auth_digest(const uint8_t key[SERVER_AUTH_DIGEST_BYTES], const uint8_t *p, size_t len,
                        uint8_t out[SERVER_AUTH_DIGEST_BYTES]);

/* ---- SCAN cursors (cmd_keyspace.c) ---------------------------------------- */

rs_code server_scan_cursors_create(struct scan_cursors **out, rs_err *err);
void server_scan_cursors_destroy(struct scan_cursors *cur);

/* ---- SNAPSHOT's directory (snapshot_dir.c) --------------------------------- */

/* Where SNAPSHOT may write: cfg->snapshot_dir made absolute, or the
 * database's parent (implicit). Fails if an explicit one is not a
 * directory. */
rs_code server_snapshot_dir_init(struct server_setup *s, rs_err *err);
/* The archive path SNAPSHOT's argument names, inside the directory, into
 * out; or an error a client may read (refused, "..", a link leaving it). */
rs_code server_snapshot_path(const struct server_setup *s, const uint8_t *arg, size_t len, char *out, size_t cap,
                             rs_err *err);

#endif
