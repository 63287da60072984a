/*
 * The replication role of a server and the loop that runs instances under
 * it (see replication.h): start the primary's shipper or the follower,
 * hand an instance the database to serve, and when the instance stops for
 * a role change or a resync, change the role and start a new instance on
 * the same addresses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "common/log.h"
#include "server/replication.h"

#define WAIT_STORE_SLICE_MS 200 /* how often a bootstrapping follower looks at rs_server_stop */

rs_code server_replication_init(struct replication *r, const struct server_setup *setup, rs_err *err)
{
    memset(r, 0, sizeof *r);
    r->setup = setup;
    r->cfg = &setup->cfg;
    if ((r->cfg->repl_listen != NULL || r->cfg->primary != NULL) && r->cfg->repl_key == NULL) {
        rs_err_set(err, RS_E_INVALID, "replication needs --repl-key FILE");
        rs_err_hint(err, "make one with: rockstream keygen --repl --out FILE");
        return RS_E_INVALID;
    }
    if (r->cfg->primary != NULL && r->cfg->db_path == NULL)
        return rs_err_set(err, RS_E_INVALID, "a follower needs the path of its database");
    if (r->cfg->repl_key != NULL) {
        r->key = *r->cfg->repl_key;
        r->has_key = 1;
    }
    if (r->cfg->primary != NULL)
        snprintf(r->follow_addr, sizeof r->follow_addr, "%s", r->cfg->primary);
    return RS_OK;
}

static void stop_server(struct replication *r);

void server_replication_request(struct replication *r, enum repl_next next, const char *addr)
{
    if (addr != NULL)
        snprintf(r->follow_addr, sizeof r->follow_addr, "%s", addr);
    atomic_store(&r->next, next);
    stop_server(r);
}

void server_replication_stop(struct replication *r)
{
    atomic_store(&r->stop, 1);
    stop_server(r);
}

/* ---- the roles ---------------------------------------------------------- */

static void on_acked(void *arg)
{
    struct replication *r = arg;
    struct server *srv = atomic_load(&r->srv);
    if (srv != NULL)
        server_wake(srv); /* the loop answers the WAITs it can */
}

/* A resync is about to replace the follower's database: end the server
 * that reads it, and come back once the new one is open. */
static void on_swap(void *arg) { server_replication_request(arg, REPL_NEXT_RESTART, NULL); }

/* The primary refused the follower: stop serving a database that no
 * longer follows anything; repl_run says why. */
static void on_stopped(void *arg) { server_replication_request(arg, REPL_NEXT_EXIT, NULL); }

static void stop_server(struct replication *r)
{
    struct server *srv = atomic_load(&r->srv);
    if (srv != NULL)
        server_stop(srv);
}

static rs_code start_primary(struct replication *r, rs_err *err)
{
    if (r->cfg->repl_listen == NULL)
        return RS_OK;
    rs_wal_primary_config pc = {.listen_addr = r->cfg->repl_listen, .key = r->key,
                                .require_encryption = r->cfg->repl_encrypt,
                                .resync_bytes_per_sec = r->cfg->resync_rate, .acked_fn = on_acked,
                                .acked_arg = r};
    return rs_wal_primary_start(r->store, &pc, &r->primary, err);
}

static rs_code start_follower(struct replication *r, rs_store *adopt, rs_err *err)
{
    rs_wal_follower_config fc = {.db_path = r->cfg->db_path, .store_cfg = r->setup->store_cfg,
                                 .primary_addr = r->follow_addr, .key = r->key, .encrypt = r->cfg->repl_encrypt,
                                 .name = r->cfg->name, .allow_discard = r->cfg->allow_discard, .swap_fn = on_swap,
                                 .swap_arg = r, .stopped_fn = on_stopped, .stopped_arg = r, .adopt_store = adopt};
    RS_LOG_INFO("replication: following primary=%s db=%s", r->follow_addr, r->cfg->db_path);
    return rs_wal_follower_start(&fc, &r->follower, err);
}

/* The follower's database, once it has one; fails if the follower was
 * refused or rs_server_stop came first. */
static rs_code lend_store(struct replication *r, rs_err *err)
{
    for (;;) {
        if (atomic_load(&r->stop))
            return RS_E_NOTFOUND;
        if (rs_wal_follower_wait_store(r->follower, WAIT_STORE_SLICE_MS) &&
            (r->lent = rs_wal_follower_store_acquire(r->follower)) != NULL)
            return RS_OK;
        rs_wal_follower_status st;
        rs_wal_follower_status_get(r->follower, &st);
        if (st.state == RS_WAL_FOLLOWER_REFUSED || st.state == RS_WAL_FOLLOWER_FAILED) {
            if (err != NULL && err->code == RS_OK)
                *err = st.last_error;
            return st.last_error.code != RS_OK ? st.last_error.code : RS_E_PROTOCOL;
        }
    }
}

static void return_store(struct replication *r)
{
    if (r->lent != NULL)
        rs_wal_follower_store_release(r->follower);
    r->lent = NULL;
}

/* REPLICAOF NO ONE: the follower's database becomes ours, writable. */
static rs_code promote(struct replication *r, rs_err *err)
{
    if (r->follower == NULL)
        return RS_OK;
    rs_code rc = rs_wal_follower_promote(r->follower, &r->store, err);
    r->follower = NULL;
    if (rc == RS_OK)
        rc = start_primary(r, err);
    return rc;
}

/* REPLICAOF host port: follow, keeping our database (the primary decides
 * whether it can resume or must resync it). */
static rs_code demote(struct replication *r, rs_err *err)
{
    rs_wal_primary_stop(r->primary);
    r->primary = NULL;
    rs_store *adopt = r->store;
    r->store = NULL;
    if (r->follower != NULL) {
        /* already following: switch primaries, reopening the database */
        rs_wal_follower_stop(r->follower);
        r->follower = NULL;
    }
    return start_follower(r, adopt, err);
}

static rs_code change_role(struct replication *r, enum repl_next next, rs_err *err)
{
    switch (next) {
    case REPL_NEXT_PROMOTE: return promote(r, err);
    case REPL_NEXT_FOLLOW: return demote(r, err);
    default: return RS_OK;
    }
}

/* ---- the loop ------------------------------------------------------------- */

/* A follower that stopped by itself ends the daemon with its reason. */
static rs_code follower_verdict(struct replication *r, rs_err *err)
{
    if (r->follower == NULL)
        return RS_OK;
    rs_wal_follower_status st;
    rs_wal_follower_status_get(r->follower, &st);
    if (st.state != RS_WAL_FOLLOWER_REFUSED && st.state != RS_WAL_FOLLOWER_FAILED)
        return RS_OK;
    if (err != NULL && err->code == RS_OK)
        *err = st.last_error;
    return st.last_error.code != RS_OK ? st.last_error.code : RS_E_PROTOCOL;
}

static rs_code serve_once(struct replication *r, rs_err *err)
{
    rs_store *store = r->store;
    if (r->follower != NULL) {
        rs_code rc = lend_store(r, err);
        if (rc != RS_OK)
            return rc == RS_E_NOTFOUND && atomic_load(&r->stop) ? RS_OK : rc;
        store = r->lent;
    }
    server_replication_role(r);
    struct server *srv = NULL;
    rs_code rc = server_create(r->setup, store, &r->role, &srv, err);
    if (rc == RS_OK) {
        atomic_store(&r->srv, srv);
        /* asked while the database was opening, or the follower already
         * stopped (a refusal that raced the start) */
        if (atomic_load(&r->stop) || atomic_load(&r->next) != REPL_NEXT_EXIT || follower_verdict(r, NULL) != RS_OK)
            server_stop(srv);
        rc = server_run(srv, err);
        atomic_store(&r->srv, NULL);
    }
    server_destroy(srv);
    return_store(r);
    return rc == RS_OK ? follower_verdict(r, err) : rc;
}

rs_code server_replication_run(struct replication *r, rs_store *store, rs_err *err)
{
    rs_code rc;
    if (r->cfg->primary != NULL) {
        rc = start_follower(r, store, err); /* store taken, even on failure */
    } else {
        r->store = store;
        rc = start_primary(r, err);
    }
    while (rc == RS_OK) {
        rc = serve_once(r, err);
        enum repl_next next = (enum repl_next)atomic_exchange(&r->next, REPL_NEXT_EXIT);
        if (rc != RS_OK || atomic_load(&r->stop) || next == REPL_NEXT_EXIT)
            break;
        RS_LOG_INFO("replication: restarting the server: %s", next == REPL_NEXT_RESTART ? "resync"
                                                             : next == REPL_NEXT_PROMOTE ? "promoted to primary"
                                                                                         : "following a primary");
        rc = change_role(r, next, err);
    }
    rs_wal_primary_stop(r->primary);
    rs_wal_follower_stop(r->follower);
    rs_store_close(r->store);
    r->primary = NULL;
    r->follower = NULL;
    r->store = NULL;
    return rc;
}

void server_replication_release(struct replication *r)
{
    sodium_memzero(&r->key, sizeof r->key);
    memset(r, 0, sizeof *r);
}
