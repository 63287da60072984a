/*
 * server/: declarations shared by the module's files; server.h is the
 * public API, cmd.h what the command families share, jobs.h the job
 * table. The files, in the manner of Redis's server.c, networking.c and
 * replication.c:
 *   server.c, setup.c     the public API; what every instance shares
 *   replication.c         the role (primary, follower, promotion) and the
 *                         loop that restarts instances; replication_info.c
 *                         its side of struct server_role (INFO, WAIT)
 *   instance.c, loop.c    one instance serving one open database; its
 *                         event loop (epoll, wakes, turns, shutdown)
 *   listen.c              listening sockets, protected mode, the port file
 *   conn.c, conn_tls.c    how a client's bytes travel: TCP, TLS (conn.h)
 *   client.c              a client: reading, parsing, output, parked replies
 *   cmdtable.c            the command table and its renames
 *   dispatch.c, reply.c   processCommand, gathered writes; replies
 *   cmd_*.c               the commands, one family per file
 *   jobs.c                the table of background jobs and their threads
 *   snapshot_dir.c        where SNAPSHOT may write
 *   stats.c               the statistics tables (INFO, stat, /metrics)
 *   resp.c, glob.c        RESP2 and glob patterns
 *
 * Threads: everything runs on an instance's loop thread, except
 * server_wake() and server_stop(), which any thread (or a signal handler)
 * may call, and the jobs' own threads (jobs.c).
 */
#ifndef RS_SERVER_INT_H
#define RS_SERVER_INT_H

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>

#include "server/conn.h"
#include "server/jobs.h"
#include "server/resp.h"
#include "server/server.h"

/* Clients and tools decide which commands to use from redis_version (INFO,
 * HELLO); we claim the level whose commands we answer as Redis 7.0 does. */
#define SERVER_REDIS_COMPAT_VERSION "7.0.0"

/* ---- what every instance of a server shares (setup.c) ----------------- */

struct server_cmd_table;

#define SERVER_AUTH_DIGEST_BYTES 32

struct server_setup {
    rs_server_config cfg;          /* resolved; its strings are borrowed */
    rs_store_config  store_cfg;    /* a copy of *cfg.store_cfg */
    struct server_cmd_table *cmds; /* the command table, renames applied */
    struct server_tls *tls;        /* NULL: no TLS listener */
    /* AUTH: the password is not kept, only a keyed digest of it */
    int     has_password;
    uint8_t auth_key[SERVER_AUTH_DIGEST_BYTES];
    uint8_t auth_digest[SERVER_AUTH_DIGEST_BYTES];
    /* SNAPSHOT writes only below this directory (snapshot_dir.c) */
    char snapshot_dir[PATH_MAX];   /* "": none known; SNAPSHOT is refused */
    int  snapshot_dir_implicit;    /* the database's parent: absolute paths only */
};

/* Checks cfg and prepares a setup; on failure nothing is left to release. */
rs_code server_setup_init(struct server_setup *s, const rs_server_config *cfg, rs_err *err);
void server_setup_release(struct server_setup *s);

struct server;
struct client;

/* ---- the replication role, as an instance sees it ------------------------ */

/* What an instance asks of the role it serves under. replication.c fills
 * one per instance; NULL means none (the unit tests). The instance never
 * sees the role's struct, and the role drives an instance only through
 * server_create/run/stop/wake below. */
struct server_role {
    void *arg;
    int   follower;   /* the instance serves a follower's database: read-only */
    int   can_follow; /* a replication key is configured (REPLICAOF host port) */
    /* followers that acknowledged every write up to seq (WAIT) */
    int  (*count_acked)(void *arg, uint64_t seq);
    /* INFO replication's lines */
    void (*info)(void *arg, rs_store *store, FILE *f);
    /* REPLICAOF: follow addr ("host:port"), or promote when NULL; ends
     * this instance, whose replies go out first */
    void (*request)(void *arg, const char *addr);
};

/* ---- the event loop (loop.c) -------------------------------------------- */

/* Something in the epoll set: a listener, the waker, a client. */
struct server_io {
    int fd;
    void (*on_event)(struct server *srv, struct server_io *io, uint32_t events);
};

/* ---- clients (client.c) ------------------------------------------------- */

enum client_flag {
    CLIENT_CLOSED = (1u << 0),            /* fd closed; freed at the end of the turn */
    CLIENT_CLOSE_AFTER_REPLY = (1u << 1), /* QUIT, a protocol error: read no more */
    CLIENT_PENDING = (1u << 2),           /* on the list flushed before sleeping */
    CLIENT_NO_READ = (1u << 3),           /* shutting down: run nothing new */
    CLIENT_BLOCKED = (1u << 4),           /* waits for a command that finishes
                                             later (SNAPSHOT, WAIT): its later
                                             requests wait, unread or unrun */
    CLIENT_IN_WAIT = (1u << 5),           /* blocked in WAIT (cmd_repl.c) */
    CLIENT_AUTHENTICATED = (1u << 6),     /* AUTH succeeded (or none is required) */
};

struct client {
    struct server_io   io;     /* first: the loop finds the client from it */
    struct server_conn conn;   /* io.fd's transport: TCP or TLS */
    uint64_t id;
    unsigned flags;
    uint32_t events;           /* what epoll watches for it now */
    char     addr[64];         /* "127.0.0.1:5123" */
    char    *name;             /* CLIENT SETNAME, or NULL */
    struct resp_buf in;        /* request bytes; [off, len) not yet run */
    struct resp_parser parser;
    struct resp_buf out;       /* replies; [off, len) not yet sent */
    /* Parked replies: the bytes from hold_off on wait until every write up
     * to hold_seq is durable (see server_client_hold). */
    int      held;
    size_t   hold_off;
    uint64_t hold_seq;
    uint64_t created_ns, active_ns;
    uint64_t n_commands;
    /* WAIT (cmd_repl.c): until wait_n followers acked wait_seq, or the
     * deadline (0: none) */
    uint64_t wait_seq, wait_deadline_ns;
    int      wait_n;
    struct client *prev, *next;           /* every client */
    struct client *held_prev, *held_next; /* clients with parked replies */
    struct client *pending_next;          /* to flush before sleeping */
    struct client *closed_next;           /* to free at the end of the turn */
};

/* ---- statistics (stats.c) ------------------------------------------------ */

/* Every field is a uint64_t read by a row of server_metrics (stats.c). */
struct server_stats {
    /* counters, kept as they happen */
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
    uint64_t auth_failures;          /* AUTH with a wrong password */
    uint64_t tls_handshake_failures;
    /* gauges, filled in when read (server_stats_collect) */
    uint64_t connected_clients;
    uint64_t clients_waiting_for_sync;
};

extern const rs_metric server_metrics[];
extern const size_t server_n_metrics;

/* The counters with the gauges filled in, for a renderer. */
void server_stats_collect(struct server *srv, struct server_stats *out);

/* ---- an instance: one served database (instance.c, loop.c) ------------- */

struct scan_cursors;

/* GETs are gathered like writes: a run of pipelined GETs from one client
 * is read with one multi-get (cmd_kv.c), which costs RocksDB less per key
 * than a get each, and their replies are appended, in order, when it
 * runs: before any other command, and at the end of the client's run of
 * requests. The keys point into the client's request buffer, which does
 * not move until then. */
#define SERVER_GET_BATCH 32
struct get_batch {
    struct client *c;
    size_t         n;
    const uint8_t *keys[SERVER_GET_BATCH];
    size_t         lens[SERVER_GET_BATCH];
};

#define SERVER_MAX_LISTENERS 2

struct server_listener {
    struct server_io   io;          /* fd -1 once closed */
    struct server_tls *tls;         /* NULL: plain TCP */
    char               address[80]; /* as bound: "127.0.0.1:6379" */
};

struct server {
    const struct server_setup *setup;
    const rs_server_config    *cfg;   /* &setup->cfg */
    const struct server_role  *role;  /* NULL: none */
    rs_store  *store;
    int        epfd;
    struct server_listener listeners[SERVER_MAX_LISTENERS];
    size_t     n_listeners;
    struct server_io waker;           /* an eventfd */
    int        read_only;             /* writes get -READONLY */
    atomic_int stopping;
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
    uint64_t   synced_seq;            /* UINT64_MAX: nothing to wait for */
    rs_err     store_failure;
    /* Writes are gathered: commands put into batch, and the batch is
     * applied (one RocksDB write) before the next read of the store and at
     * the end of each client's run of requests, so a pipeline of 16 SETs is
     * one write and one fsync. Only deferred_client's writes are in it. */
    rs_store_batch *batch;
    struct client  *deferred_client;
    size_t          deferred_off;     /* where its first deferred reply starts */
    struct get_batch gets;
    struct scan_cursors *cursors;     /* SCAN's (cmd_keyspace.c) */
    struct server_job jobs[SERVER_MAX_JOBS];
    size_t     n_jobs;
    size_t     n_waiting;             /* clients in WAIT */
    uint64_t   started_ns;
    uint64_t   last_cron_ns;
    uint64_t   auth_log_ns;           /* when a failed AUTH was last logged */
    uint64_t   auth_log_quiet;        /* failures not logged since */
    struct server_stats stats;
};

/* Binds the listen addresses and prepares the loop. store is borrowed and
 * must outlive the instance; so must setup and role. */
rs_code server_create(const struct server_setup *setup, rs_store *store, const struct server_role *role,
                      struct server **out, rs_err *err);
/* Runs the loop until server_stop(), then finishes: stops accepting, waits
 * (up to shutdown_timeout_s) for parked replies to become durable, for the
 * jobs and for every reply to be sent, and closes every connection.
 * Returns RS_OK, or the store's failure if a WAL fsync failed (the server
 * then stops at once, as Redis does when an appendfsync-always write
 * fails). */
rs_code server_run(struct server *srv, rs_err *err);
/* Any thread, or a signal handler: asks the loop to stop. */
void server_stop(struct server *srv);
/* Any thread: wakes the loop, which then polls the jobs. */
void server_wake(struct server *srv);
void server_destroy(struct server *srv);
/* One turn of the loop: wait up to timeout_ms for events, handle them,
 * then what comes before sleeping. */
void server_turn(struct server *srv, int timeout_ms);
/* The loop's side of durability: learns the synced sequence, releases
 * the parked replies it covers (instance.c). */
void server_durability_check(struct server *srv);
/* The epoll set and the eventfd that wakes it (loop.c). */
rs_code server_loop_open(struct server *srv, rs_err *err);
void server_loop_close(struct server *srv);

/* ---- listening (listen.c) ------------------------------------------------ */

/* Binds and listens on cfg->listen (and the TLS port), writes the port
 * file, and watches for connections. */
rs_code server_listeners_open(struct server *srv, rs_err *err);
/* Stops accepting; idempotent. */
void server_listeners_close(struct server *srv);
/* Protected mode: without a password, every address spec (what) resolves
 * to must be loopback. *loopback says whether they all are. */
rs_code server_listen_check(const char *spec, const char *what, int has_password, int *loopback, rs_err *err);
/* The TLS listen spec: "PORT" means the port on cfg->listen's host. */
rs_code server_tls_spec(const rs_server_config *cfg, char *out, size_t cap, rs_err *err);

/* ---- clients (client.c) --------------------------------------------------- */

/* A client on fd (taken, even on failure); tls NULL for plain TCP. */
rs_code server_client_create(struct server *srv, int fd, const char *addr, struct server_tls *tls, rs_err *err);
/* Closes the connection now; the struct is freed at the end of the turn. */
void server_client_close(struct server *srv, struct client *c, const char *why);
/* Sends what may be sent; watches for writability if some is left. */
void server_client_flush(struct server *srv, struct client *c);
/* Queues c for server_client_flush before the loop sleeps. */
void server_client_pending(struct server *srv, struct client *c);
/* Parks the reply bytes from off on until every write up to seq is durable. */
void server_client_hold(struct server *srv, struct client *c, size_t off, uint64_t seq);
/* Releases the parked replies of every client whose writes are now durable. */
void server_client_release_synced(struct server *srv);
/* Stops reading from c (shutdown); its replies still go out. */
void server_client_stop_reading(struct server *srv, struct client *c);
/* Blocks c: it runs no further request (and is not read) until
 * server_client_unblock, which the finishing command calls once it has
 * queued its reply; the requests that came meanwhile then run. */
void server_client_block(struct server *srv, struct client *c);
void server_client_unblock(struct server *srv, struct client *c);
/* The open connection with this id, or NULL (closed meanwhile). */
struct client *server_client_by_id(struct server *srv, uint64_t id);
/* Unsent reply bytes, parked ones included. */
size_t server_client_unsent(const struct client *c);
/* Checked before each reply is made: closes c (and counts it) when its
 * unsent replies already exceed max-output; returns 1 then. So a client
 * holds at most max-output plus one reply. */
int server_client_close_if_over_output(struct server *srv, struct client *c);
void server_client_free(struct client *c);

#endif
