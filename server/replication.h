/*
 * The replication role of a server (rs_server_run): a primary, which may
 * ship its writes to followers, or a follower serving reads of its
 * primary's data; and the loop that runs one instance after another under
 * it. Private to server/: server.c drives it through the functions below;
 * an instance sees the role only as a struct server_role
 * (server_int.h), filled by replication_info.c.
 *
 * Why instances restart: an instance borrows one open database for its
 * whole life (its write batch, durability listener and parked replies are
 * tied to it). A promotion, a demotion or a resync that swaps the
 * database ends that instance (its replies are sent first) and starts a
 * new one on the same addresses; clients reconnect, as they would after a
 * Redis full sync.
 */
#ifndef RS_SERVER_REPLICATION_H
#define RS_SERVER_REPLICATION_H

#include <stdatomic.h>

#include "server/server_int.h"
#include "wal/wal.h"

/* What the loop does once an instance stops. */
enum repl_next { REPL_NEXT_EXIT = 0, REPL_NEXT_RESTART, REPL_NEXT_PROMOTE, REPL_NEXT_FOLLOW };

struct replication {
    const struct server_setup *setup;
    const rs_server_config    *cfg;     /* &setup->cfg */
    rs_wal_key          key;
    int                 has_key;
    rs_store           *store;          /* ours when primary; NULL while following */
    rs_wal_primary     *primary;
    rs_wal_follower    *follower;
    rs_store           *lent;           /* the follower's database, acquired for an instance */
    struct server_role  role;           /* what the running instance sees */
    struct server *_Atomic srv;         /* the running instance, for other threads */
    atomic_int          next;           /* enum repl_next */
    atomic_int          stop;           /* rs_server_stop was called */
    char                follow_addr[256]; /* REPLICAOF host port */
};

/* Checks the replication options of setup->cfg; starts nothing. */
rs_code server_replication_init(struct replication *r, const struct server_setup *setup, rs_err *err);
/* Runs instances until server_replication_stop (see rs_server_run; store
 * is taken), then closes everything it owns. */
rs_code server_replication_run(struct replication *r, rs_store *store, rs_err *err);
/* Any thread, or a signal handler. */
void server_replication_stop(struct replication *r);
void server_replication_release(struct replication *r);

/* Ends the running instance and makes the loop do next (replication_info.c
 * and the follower's callbacks). */
void server_replication_request(struct replication *r, enum repl_next next, const char *addr);
/* Fills r->role for the next instance (replication_info.c). */
void server_replication_role(struct replication *r);

#endif
