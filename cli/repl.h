/*
 * The replication role of a running server (rockstream serve and
 * rockstream follow): a primary that ships to followers, or a follower
 * serving reads of its primary's data. Private to cli/. The files:
 *   repl.c               the role, the database it owns, and the loop that
 *                        runs the server and restarts it when the role
 *                        changes or a resync replaces the database
 *   server_cmds_repl.c   WAIT, REPLICAOF, and INFO's replication section
 *
 * Why a restart: the server borrows one open database for its whole life
 * (its write batch, durability listener and parked replies are tied to
 * it). A promotion, a demotion or a resync that swaps the database ends
 * that server (its replies are sent first) and starts a new one on the
 * same address; clients reconnect, as they would after a Redis full sync.
 */
#ifndef RS_CLI_REPL_H
#define RS_CLI_REPL_H

#include <signal.h>
#include <stdatomic.h>

#include "cli/server.h"
#include "wal/wal.h"

struct repl_config {
    const char *listen;        /* --repl-listen: accept followers here, or NULL */
    const char *key_file;      /* --repl-key */
    const char *primary;       /* follow --primary, or NULL for a primary */
    int         encrypt;       /* --repl-encrypt: ask for (follower) or require
                                  (primary) an encrypted session */
    int         allow_discard; /* --allow-discard */
    uint64_t    resync_rate;   /* --resync-rate, bytes per second; 0: default */
    const char *name;          /* --name, shown on the primary */
};

/* What the loop does once the server stops. */
enum repl_next { REPL_NEXT_EXIT = 0, REPL_NEXT_RESTART, REPL_NEXT_PROMOTE, REPL_NEXT_FOLLOW };

struct repl {
    struct repl_config cfg;
    rs_wal_key         key;
    int                has_key;
    char              *db_path;
    rs_store_config    store_cfg;
    rs_store          *store;       /* ours when primary; NULL while following */
    rs_wal_primary    *primary;
    rs_wal_follower   *follower;
    rs_store          *lent;        /* the follower's database, acquired for a server */
    struct server *_Atomic srv;     /* the running server, for other threads */
    atomic_int         next;        /* enum repl_next */
    char               follow_addr[256]; /* REPLICAOF host port */
};

/* Reads the key (if a key file is given) and checks the options. A
 * follower opens or bootstraps db_path with store_cfg. On failure nothing
 * is left to release. */
rs_code repl_init(struct repl *r, const struct repl_config *cfg, const char *db_path,
                  const rs_store_config *store_cfg, rs_err *err);

/* Runs servers with scfg until a signal (*stop_asked, or server_stop on
 * the server set through *running) and restarts them on role changes.
 * store is the primary's open database, or the one a follower resumes
 * (taken), or NULL for a follower to open or bootstrap. Closes everything
 * it owns, and releases r, before returning. */
rs_code repl_run(struct repl *r, rs_store *store, struct server_config *scfg, struct server *_Atomic *running,
                 volatile sig_atomic_t *stop_asked, rs_err *err);

/* Frees what repl_init made, when repl_run is not called. */
void repl_release(struct repl *r);

/* Handles a replication option shared by serve and follow: which is
 * opt - (the command's first replication option), in the order of
 * CLI_REPL_LONGOPTS. RS_E_NOTFOUND if opt is not one. */
rs_code cli_repl_option(int which, const char *arg, struct repl_config *cfg, rs_err *err);

struct cli_store_args;
struct cli_key_args;

/* The daemons' common run (cmd_serve.c): signals, file limits, the
 * database (opened here for a primary; a follower opens its own), and
 * repl_run until SIGTERM or SIGINT. */
rs_code cli_daemon_run(struct cli_store_args *st, struct server_config *scfg, const struct repl_config *rcfg,
                       const struct cli_key_args *snapshot_key, rs_err *err);

/* For the commands (loop thread): ends the server and makes the loop
 * promote, or follow addr ("host:port"). */
void repl_request(struct repl *r, enum repl_next next, const char *addr);

#endif
