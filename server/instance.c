/*
 * One instance: a served database, from creation (the write batch, SCAN's
 * cursors, the loop, the jobs, the listeners) to destruction, and its side
 * of durability: the store's syncer wakes the loop after each fsync, and
 * the loop releases the replies that fsync covers. A role change or a
 * resync ends an instance and starts another (replication.c).
 */
#include <stdlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/cmd.h"

/* Called by the store after each group fsync, on its syncer thread or a
 * writer's (see rs_store_sync_listen): only wakes the loop. */
static void on_store_synced(void *arg) { server_wake(arg); }

void server_durability_check(struct server *srv)
{
    uint64_t seq = 0;
    rs_err err = RS_ERR_INIT;
    if (rs_store_synced_seq(srv->store, &seq, &err) != RS_OK) {
        if (srv->store_failure.code == RS_OK) {
            srv->store_failure = err;
            RS_LOG_ERR("serve: stopping: the WAL could not be synced, so no write can be acknowledged: %s",
                       err.msg);
        }
        /* Their OKs were never sent and must not be: the connections drop,
         * as they would in a crash, and the clients do not count them. */
        while (srv->held != NULL)
            server_client_close(srv, srv->held, "write not durable");
        server_stop(srv);
        return;
    }
    srv->synced_seq = seq;
    server_client_release_synced(srv);
}

rs_code server_create(const struct server_setup *setup, rs_store *store, const struct server_role *role,
                      struct server **out, rs_err *err)
{
    struct server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return rs_err_set(err, RS_E_NOMEM, "serve: out of memory");
    srv->setup = setup;
    srv->cfg = &setup->cfg;
    srv->role = role;
    srv->store = store;
    srv->read_only = setup->cfg.read_only || (role != NULL && role->follower);
    srv->epfd = srv->waker.fd = -1;
    srv->started_ns = srv->last_cron_ns = rs_clock_mono_ns();
    srv->last_write_seq = srv->requested_seq = rs_store_latest_seq(store);
    rs_code rc = rs_store_batch_create(&srv->batch, err);
    if (rc == RS_OK)
        rc = server_scan_cursors_create(&srv->cursors, err);
    if (rc == RS_OK)
        rc = server_loop_open(srv, err);
    if (rc == RS_OK)
        rc = server_jobs_create(srv, err);
    if (rc == RS_OK)
        rc = rs_store_synced_seq(store, &srv->synced_seq, err);
    if (rc == RS_OK)
        rc = server_listeners_open(srv, err);
    if (rc != RS_OK) {
        server_destroy(srv);
        return rc;
    }
    rs_store_sync_listen(store, on_store_synced, srv);
    *out = srv;
    return RS_OK;
}

void server_destroy(struct server *srv)
{
    if (srv == NULL)
        return;
    /* a barrier: after it the syncer never calls on_store_synced again */
    rs_store_sync_listen(srv->store, NULL, NULL);
    server_jobs_destroy(srv); /* they use the store, which closes after us */
    while (srv->clients != NULL)
        server_client_close(srv, srv->clients, "shutdown");
    while (srv->closed != NULL) {
        struct client *c = srv->closed;
        srv->closed = c->closed_next;
        server_client_free(c);
    }
    server_listeners_close(srv);
    server_loop_close(srv);
    server_scan_cursors_destroy(srv->cursors);
    rs_store_batch_destroy(srv->batch);
    free(srv);
}
