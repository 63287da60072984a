/*
 * The Redis-protocol server behind `rockstream serve`: one event-loop
 * thread (epoll) that accepts connections, parses RESP2, runs commands
 * against the store and parks the replies of writes until the store says
 * they are durable. Private to cli/; the files:
 *   server.c           lifecycle, the loop, waking it from other threads
 *   server_listen.c    the listening socket and accepting clients
 *   server_conn.c      a client: reading, output buffers, parked replies
 *   server_cmds.c      the command table, lookup, arity, dispatch
 *   server_cmds_*.c    the commands, one group per file (keyspace: SCAN
 *                      and its cursors, DBSIZE)
 *   server_info.c      INFO and its table of sections
 *
 * Threads: everything here runs on the loop thread, except server_wake()
 * and server_stop(), which any thread (or a signal handler) may call.
 */
#ifndef RS_CLI_SERVER_H
#define RS_CLI_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "cli/resp.h"
#include "common/err.h"
#include "store/store.h"

/* Plain struct, zero means default (server_config_resolve). */
struct server_config {
    const char *listen;          /* "host:port", "[v6]:port"; default 127.0.0.1:6379 */
    const char *port_file;       /* write the bound "host:port" here once listening */
    uint64_t max_bulk;           /* longest key or value, default 512 MiB (Redis) */
    uint64_t max_args;           /* most arguments per request, default 1M (Redis) */
    uint64_t max_request;        /* most bytes of one request, default 1 GiB */
    uint64_t max_output;         /* unsent reply bytes before a disconnect, 64 MiB */
    uint64_t max_clients;        /* default 10000 (Redis) */
    uint64_t idle_timeout_s;     /* 0: never close an idle client (Redis's default) */
    uint64_t shutdown_timeout_s; /* how long a shutdown waits for replies, default 10 */
    int      read_only;          /* answer writes with -READONLY */
    const char *config_file;     /* shown by INFO server; borrowed */
};

void server_config_resolve(struct server_config *cfg);

struct server;
struct client;

/* ---- lifecycle (server.c) --------------------------------------------- */

/* Binds cfg->listen and prepares the loop. store is borrowed and must
 * outlive the server; cfg is copied (its strings are borrowed). */
rs_code server_create(const struct server_config *cfg, rs_store *store, struct server **out, rs_err *err);

/* Runs the loop until server_stop(), then finishes: stops accepting, waits
 * (up to shutdown_timeout_s) for parked replies to become durable and for
 * every reply to be sent, and closes every connection. Returns RS_OK, or
 * the store's failure if a WAL fsync failed (the server then stops at
 * once, as Redis does when an appendfsync-always write fails). */
rs_code server_run(struct server *srv, rs_err *err);

/* Any thread, or a signal handler (async-signal-safe): asks the loop to stop. */
void server_stop(struct server *srv);

/* Any thread: wakes the loop, which then runs every wake hook. */
void server_wake(struct server *srv);

/* A function the loop runs each time it is woken (and once per loop turn
 * after a wake): how another thread hands work to the loop, e.g. the
 * durability hook below, or later a follower's acknowledgement that
 * completes a parked WAIT. At most SERVER_MAX_HOOKS. */
#define SERVER_MAX_HOOKS 8
typedef void (*server_hook_fn)(struct server *srv, void *arg);
rs_code server_hook_add(struct server *srv, server_hook_fn fn, void *arg, rs_err *err);

void server_destroy(struct server *srv);

/* The address actually bound ("127.0.0.1:41234"). */
const char *server_address(const struct server *srv);

#endif
