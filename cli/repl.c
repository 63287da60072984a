/*
 * The replication role of a server and the loop that runs it (see
 * repl.h): start the primary's shipper or the follower, hand the server
 * the database to serve, and when the server stops for a role change or a
 * resync, change the role and start a new server on the same address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/repl.h"
#include "cli/server_int.h"
#include "common/log.h"

#define WAIT_STORE_SLICE_MS 200 /* how often a bootstrapping daemon looks at signals */

rs_code repl_init(struct repl *r, const struct repl_config *cfg, const char *db_path,
                  const rs_store_config *store_cfg, rs_err *err)
{
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    r->store_cfg = *store_cfg;
    if ((cfg->listen != NULL || cfg->primary != NULL) && cfg->key_file == NULL) {
        rs_err_set(err, RS_E_INVALID, "replication needs --repl-key FILE");
        rs_err_hint(err, "make one with: rockstream keygen --repl --out FILE");
        return RS_E_INVALID;
    }
    if (cfg->key_file != NULL) {
        rs_code rc = rs_wal_key_read(cfg->key_file, &r->key, err);
        if (rc != RS_OK)
            return rc;
        r->has_key = 1;
    }
    r->db_path = strdup(db_path);
    if (r->db_path == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    if (cfg->primary != NULL)
        snprintf(r->follow_addr, sizeof r->follow_addr, "%s", cfg->primary);
    return RS_OK;
}

static void stop_server(struct repl *r);

void repl_request(struct repl *r, enum repl_next next, const char *addr)
{
    if (addr != NULL)
        snprintf(r->follow_addr, sizeof r->follow_addr, "%s", addr);
    atomic_store(&r->next, next);
    stop_server(r);
}

/* ---- the roles ---------------------------------------------------------- */

static void on_acked(void *arg)
{
    struct repl *r = arg;
    struct server *srv = atomic_load(&r->srv);
    if (srv != NULL)
        server_wake(srv); /* the loop answers the WAITs it can */
}

/* A resync is about to replace the follower's database: end the server
 * that reads it, and come back once the new one is open. */
static void on_swap(void *arg) { repl_request(arg, REPL_NEXT_RESTART, NULL); }

/* The primary refused the follower: stop serving a database that no
 * longer follows anything; repl_run says why. */
static void on_stopped(void *arg) { repl_request(arg, REPL_NEXT_EXIT, NULL); }

static void stop_server(struct repl *r)
{
    struct server *srv = atomic_load(&r->srv);
    if (srv != NULL)
        server_stop(srv);
}

static rs_code start_primary(struct repl *r, rs_err *err)
{
    if (r->cfg.listen == NULL)
        return RS_OK;
    rs_wal_primary_config pc = {.listen_addr = r->cfg.listen, .key = r->key,
                                .require_encryption = r->cfg.encrypt,
                                .resync_bytes_per_sec = r->cfg.resync_rate, .acked_fn = on_acked,
                                .acked_arg = r};
    return rs_wal_primary_start(r->store, &pc, &r->primary, err);
}

static rs_code start_follower(struct repl *r, rs_store *adopt, rs_err *err)
{
    rs_wal_follower_config fc = {.db_path = r->db_path, .store_cfg = r->store_cfg, .primary_addr = r->follow_addr,
                                 .key = r->key, .encrypt = r->cfg.encrypt, .name = r->cfg.name,
                                 .allow_discard = r->cfg.allow_discard, .swap_fn = on_swap, .swap_arg = r,
                                 .stopped_fn = on_stopped, .stopped_arg = r, .adopt_store = adopt};
    RS_LOG_INFO("replication: following primary=%s db=%s", r->follow_addr, r->db_path);
    return rs_wal_follower_start(&fc, &r->follower, err);
}

/* The follower's database, once it has one; fails if the follower was
 * refused or a signal came first. */
static rs_code lend_store(struct repl *r, volatile sig_atomic_t *stop_asked, rs_err *err)
{
    for (;;) {
        if (*stop_asked)
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

static void return_store(struct repl *r)
{
    if (r->lent != NULL)
        rs_wal_follower_store_release(r->follower);
    r->lent = NULL;
}

/* REPLICAOF NO ONE: the follower's database becomes ours, writable. */
static rs_code promote(struct repl *r, rs_err *err)
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
static rs_code demote(struct repl *r, rs_err *err)
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

static rs_code change_role(struct repl *r, enum repl_next next, rs_err *err)
{
    switch (next) {
    case REPL_NEXT_PROMOTE: return promote(r, err);
    case REPL_NEXT_FOLLOW: return demote(r, err);
    default: return RS_OK;
    }
}

/* ---- the loop ------------------------------------------------------------- */

/* A follower that stopped by itself ends the daemon with its reason. */
static rs_code follower_verdict(struct repl *r, rs_err *err)
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

static rs_code serve_once(struct repl *r, struct server_config *scfg, struct server *_Atomic *running,
                          volatile sig_atomic_t *stop_asked, rs_err *err)
{
    rs_store *store = r->store;
    if (r->follower != NULL) {
        rs_code rc = lend_store(r, stop_asked, err);
        if (rc != RS_OK)
            return rc == RS_E_NOTFOUND && *stop_asked ? RS_OK : rc;
        store = r->lent;
    }
    struct server *srv = NULL;
    rs_code rc = server_create(scfg, store, &srv, err);
    if (rc == RS_OK) {
        srv->repl = r;
        srv->read_only = scfg->read_only || r->follower != NULL;
        atomic_store(&r->srv, srv);
        atomic_store(running, srv);
        /* asked while the database was opening, or the follower already
         * stopped (a refusal that raced the start) */
        if (*stop_asked || atomic_load(&r->next) != REPL_NEXT_EXIT || follower_verdict(r, NULL) != RS_OK)
            server_stop(srv);
        rc = server_run(srv, err);
        atomic_store(running, NULL);
        atomic_store(&r->srv, NULL);
    }
    server_destroy(srv);
    return_store(r);
    return rc == RS_OK ? follower_verdict(r, err) : rc;
}

rs_code repl_run(struct repl *r, rs_store *store, struct server_config *scfg, struct server *_Atomic *running,
                 volatile sig_atomic_t *stop_asked, rs_err *err)
{
    rs_code rc;
    if (r->cfg.primary != NULL) {
        rc = start_follower(r, store, err); /* store taken, even on failure */
    } else {
        r->store = store;
        rc = start_primary(r, err);
    }
    while (rc == RS_OK) {
        rc = serve_once(r, scfg, running, stop_asked, err);
        enum repl_next next = (enum repl_next)atomic_exchange(&r->next, REPL_NEXT_EXIT);
        if (rc != RS_OK || *stop_asked || next == REPL_NEXT_EXIT)
            break;
        RS_LOG_INFO("replication: restarting the server: %s", next == REPL_NEXT_RESTART ? "resync"
                                                             : next == REPL_NEXT_PROMOTE ? "promoted to primary"
                                                                                         : "following a primary");
        rc = change_role(r, next, err);
    }
    rs_wal_primary_stop(r->primary);
    rs_wal_follower_stop(r->follower);
    rs_store_close(r->store);
    repl_release(r);
    return rc;
}

void repl_release(struct repl *r)
{
    free(r->db_path);
    sodium_memzero(&r->key, sizeof r->key);
    memset(r, 0, sizeof *r);
}

rs_code cli_repl_option(int which, const char *arg, struct repl_config *cfg, rs_err *err)
{
    uint64_t rate = 0;
    switch (which) {
    case 0: cfg->listen = arg; return RS_OK;
    case 1: cfg->key_file = arg; return RS_OK;
    case 2: cfg->encrypt = 1; return RS_OK;
    case 3:
        if (cli_parse_size(arg, &rate) != 0 || rate < 1024)
            return rs_err_set(err, RS_E_INVALID, "--resync-rate '%s': expected a size a second, like 50M", arg);
        cfg->resync_rate = rate;
        return RS_OK;
    default: return RS_E_NOTFOUND;
    }
}
