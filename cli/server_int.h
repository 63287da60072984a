/*
 * Shared by the server's files (see server.h for the map): the server and
 * client structs, the command table's shape, and the helpers commands use
 * to reply and to write.
 */
#ifndef RS_CLI_SERVER_INT_H
#define RS_CLI_SERVER_INT_H

#include <stdio.h>

#include "cli/server.h"

/* Something in the epoll set: the listener, the waker, a client. */
struct server_io {
    int fd;
    void (*on_event)(struct server *srv, struct server_io *io, uint32_t events);
};

enum client_flag {
    CLIENT_CLOSED = (1u << 0),           /* fd closed; freed at the end of the turn */
    CLIENT_CLOSE_AFTER_REPLY = (1u << 1),/* QUIT, a protocol error: read no more */
    CLIENT_PENDING = (1u << 2),          /* on the list flushed before sleeping */
    CLIENT_NO_READ = (1u << 3),          /* shutting down: run nothing new */
    CLIENT_BLOCKED = (1u << 4),          /* waits for a command that finishes
                                            later (SNAPSHOT, WAIT): its later
                                            requests wait, unread or unrun */
    CLIENT_IN_WAIT = (1u << 5),          /* blocked in WAIT (server_cmds_repl.c) */
};

struct client {
    struct server_io io;
    uint64_t id;
    unsigned flags;
    uint32_t events;            /* what epoll watches for it now */
    char     addr[64];          /* "127.0.0.1:5123" */
    char    *name;              /* CLIENT SETNAME, or NULL */
    struct resp_buf in;         /* request bytes; [off, len) not yet run */
    struct resp_parser parser;
    struct resp_buf out;        /* replies; [off, len) not yet sent */
    /* Parked replies: the bytes from hold_off on wait until every write up
     * to hold_seq is durable (see client_hold). */
    int      held;
    size_t   hold_off;
    uint64_t hold_seq;
    uint64_t created_ns, active_ns;
    uint64_t n_commands;
    /* WAIT (server_cmds_repl.c): until wait_n followers acked wait_seq, or
     * the deadline (0: none) */
    uint64_t wait_seq, wait_deadline_ns;
    int      wait_n;
    struct client *prev, *next;           /* every client */
    struct client *held_prev, *held_next; /* clients with parked replies */
    struct client *pending_next;          /* to flush before sleeping */
    struct client *closed_next;           /* to free at the end of the turn */
};

struct server_stats {
    uint64_t connections_received;
    uint64_t rejected_connections;   /* over max-clients */
    uint64_t commands_processed;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t output_limit_disconnects;
    uint64_t idle_disconnects;
    uint64_t protocol_errors;
    uint64_t keyspace_hits;
    uint64_t keyspace_misses;
    uint64_t replies_parked;         /* replies that waited for an fsync */
};

struct scan_cursors;
struct snapshot_job;
struct repl;

/* GETs are gathered like writes: a run of pipelined GETs from one client
 * is read with one multi-get (server_cmds_kv.c), which costs RocksDB less
 * per key than a get each, and their replies are appended, in order, when
 * it runs: before any other command, and at the end of the client's run of
 * requests. The keys point into the client's request buffer, which does
 * not move until then. */
#define SERVER_GET_BATCH 32
struct get_batch {
    struct client *c;
    size_t         n;
    const uint8_t *keys[SERVER_GET_BATCH];
    size_t         lens[SERVER_GET_BATCH];
};

struct server {
    struct server_config cfg;
    rs_store  *store;
    int        epfd;
    struct server_io listener;       /* fd -1 once closed */
    struct server_io waker;          /* an eventfd */
    char       address[80];
    int        read_only;            /* writes get -READONLY; a follower
                                        role will set it at run time */
    atomic_int stopping;
    struct { server_hook_fn fn; void *arg; } hooks[SERVER_MAX_HOOKS];
    size_t     n_hooks;
    struct client *clients;
    size_t     n_clients;
    uint64_t   next_client_id;
    struct client *held;
    size_t     n_held;
    struct client *pending;
    struct client *closed;
    /* Durability. The loop is the only writer of the store in this
     * process, so last_write_seq is the newest write anyone can have read;
     * every reply that read or wrote data waits until synced_seq reaches
     * the last_write_seq it was produced at. */
    uint64_t   last_write_seq;
    uint64_t   requested_seq;
    uint64_t   synced_seq;           /* UINT64_MAX: nothing to wait for */
    rs_err     store_failure;
    /* Writes are gathered: commands put into batch, and the batch is
     * applied (one RocksDB write) before the next read of the store and at
     * the end of each client's run of requests, so a pipeline of 16 SETs is
     * one write and one fsync. Only deferred_client's writes are in it. */
    rs_store_batch *batch;
    struct client  *deferred_client;
    size_t          deferred_off;    /* where its first deferred reply starts */
    struct get_batch gets;
    struct scan_cursors *cursors;
    struct snapshot_job *snapshot;   /* SNAPSHOT's thread and its results */
    struct repl *repl;               /* replication role, or NULL (cli/repl.h) */
    size_t     n_waiting;            /* clients in WAIT */
    uint64_t   started_ns;
    uint64_t   last_cron_ns;
    struct server_stats stats;
};

/* ---- the listening socket (server_listen.c) --------------------------- */

/* Binds and listens on cfg.listen, fills srv->address, writes the port
 * file, and watches for connections. */
rs_code server_listener_open(struct server *srv, rs_err *err);
/* Stops accepting; idempotent. */
void server_listener_close(struct server *srv);

/* ---- clients (server_conn.c) ------------------------------------------ */

rs_code client_create(struct server *srv, int fd, const char *addr, rs_err *err);
/* Closes the connection now; the struct is freed at the end of the turn. */
void client_close(struct server *srv, struct client *c, const char *why);
/* Sends what may be sent; watches for writability if some is left. */
void client_flush(struct server *srv, struct client *c);
/* Queues c for client_flush before the loop sleeps. */
void client_pending(struct server *srv, struct client *c);
/* Parks the reply bytes from off on until every write up to seq is durable. */
void client_hold(struct server *srv, struct client *c, size_t off, uint64_t seq);
/* Releases the parked replies of every client whose writes are now durable. */
void client_release_synced(struct server *srv);
/* Stops reading from c (shutdown); its replies still go out. */
void client_stop_reading(struct server *srv, struct client *c);
/* Blocks c: it runs no further request (and is not read) until
 * client_unblock, which the finishing command calls once it has queued
 * its reply; the requests that came meanwhile then run. */
void client_block(struct server *srv, struct client *c);
void client_unblock(struct server *srv, struct client *c);
/* The open connection with this id, or NULL (closed meanwhile). */
struct client *client_by_id(struct server *srv, uint64_t id);
/* Unsent reply bytes, parked ones included. */
size_t client_unsent(const struct client *c);
/* Checked before each reply is made: closes c (and counts it) when its
 * unsent replies already exceed max-output; returns 1 then. So a client
 * holds at most max-output plus one reply. */
int client_close_if_over_output(struct server *srv, struct client *c);
void client_free(struct client *c);

/* ---- commands (server_cmds.c) ----------------------------------------- */

enum cmd_flag {
    CMD_WRITE = (1u << 0),    /* changes data: refused when read-only */
    CMD_DATA = (1u << 1),     /* reads or writes keys: its reply waits until
                                 every write before it is durable */
    CMD_GATHERED = (1u << 2), /* replies later, through server_flush_reads
                                 (GET): the gathered reads stay pending */
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
 * the command name: N means exactly N arguments, -N at least N. */
struct server_cmd {
    const char *name;     /* lower case */
    int         arity;
    unsigned    flags;
    void      (*proc)(struct cmd_ctx *x);
    const char *group;    /* for COMMAND DOCS: "string", "keyspace", ... */
    const char *summary;
    const char *params;   /* the arguments, as in Redis's docs */
};

/* A file's commands. Each server_cmds_*.c exports one; server_cmds.c lists
 * them, so a new group of commands is one new file and one line there. */
struct server_cmd_set {
    const struct server_cmd *cmds;
    size_t n;
};

extern const struct server_cmd_set server_cmds_kv, server_cmds_keyspace, server_cmds_conn, server_cmds_info,
    server_cmds_snapshot, server_cmds_repl;

/* ---- replication in the loop (server_cmds_repl.c) --------------------- */

/* Answers the WAITs that are satisfied or timed out; each turn. */
void server_repl_check_waits(struct server *srv);
/* INFO's replication section. */
void server_info_replication(struct server *srv, FILE *f);

/* Builds the lookup index; once, before the first dispatch. */
rs_code server_cmds_init(rs_err *err);
/* Every command, in name order, for COMMAND COUNT and DOCS. */
size_t server_cmds_count(void);
const struct server_cmd *server_cmds_at(size_t i);
/* Runs one parsed request for c. */
void server_dispatch(struct server *srv, struct client *c, const uint8_t *base, const struct resp_arg *args,
                     size_t argc);

/* ---- helpers for commands (server_cmds.c) ----------------------------- */

static inline const uint8_t *arg_ptr(const struct cmd_ctx *x, size_t i) { return x->base + x->args[i].off; }
static inline size_t arg_len(const struct cmd_ctx *x, size_t i) { return x->args[i].len; }

/* Non-zero if argument i equals s, ignoring case (option keywords). */
int arg_is(const struct cmd_ctx *x, size_t i, const char *s);
/* Parses argument i as a signed 64-bit integer, strictly as Redis does;
 * returns 0, or replies "value is not an integer or out of range" and -1. */
int arg_int64(struct cmd_ctx *x, size_t i, int64_t *out);
/* The same strict parse for any bytes (a stored value for INCR). */
int parse_int64(const uint8_t *p, size_t len, int64_t *out);

void reply_ok(struct cmd_ctx *x);
void reply_errorf(struct cmd_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_syntax_error(struct cmd_ctx *x);
/* Replies an rs_err with the Redis prefix its code maps to. */
void reply_rs_err(struct cmd_ctx *x, const rs_err *err);
static inline struct resp_buf *reply_buf(struct cmd_ctx *x) { return &x->c->out; }

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
/* Reads the gathered GETs and appends their replies (server_cmds_kv.c). */
void server_flush_reads(struct server *srv);

/* ---- SCAN cursors (server_cmds_keyspace.c) ---------------------------- */

rs_code scan_cursors_create(struct scan_cursors **out, rs_err *err);
void scan_cursors_destroy(struct scan_cursors *cur);

/* ---- SNAPSHOT (server_cmds_snapshot.c) -------------------------------- */

/* Prepares srv->snapshot and adds its wake hook. */
rs_code snapshot_job_create(struct server *srv, rs_err *err);
/* Asks a running snapshot to stop (shutdown); it then fails, its files are
 * removed and its client gets the error. */
void snapshot_job_cancel(struct server *srv);
int snapshot_job_running(const struct server *srv);
/* Cancels and waits for a running snapshot, then frees. */
void snapshot_job_destroy(struct server *srv);
/* INFO persistence's snapshot_* lines. */
void snapshot_job_info(struct server *srv, FILE *f);

#endif
