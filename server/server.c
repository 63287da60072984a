/*
 * The public API (server.h): a server is a setup, made once from the
 * config (setup.c), and the replication role that runs instances on it
 * (replication.c).
 */
#include <stdlib.h>

#include "server/replication.h"

struct rs_server {
    struct server_setup setup;
    struct replication  repl;
};

rs_code rs_server_create(const rs_server_config *cfg, rs_server **out, rs_err *err)
{
    rs_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return rs_err_set(err, RS_E_NOMEM, "serve: out of memory");
    rs_code rc = server_setup_init(&s->setup, cfg, err);
    if (rc != RS_OK) {
        free(s);
        return rc;
    }
    rc = server_replication_init(&s->repl, &s->setup, err);
    if (rc != RS_OK) {
        rs_server_destroy(s);
        return rc;
    }
    *out = s;
    return RS_OK;
}

rs_code rs_server_run(rs_server *s, rs_store *store, rs_err *err)
{
    if (store == NULL && s->setup.cfg.primary == NULL)
        return rs_err_set(err, RS_E_INVALID, "serve: a primary needs its open database");
    return server_replication_run(&s->repl, store, err);
}

void rs_server_stop(rs_server *s) { server_replication_stop(&s->repl); }

void rs_server_destroy(rs_server *s)
{
    if (s == NULL)
        return;
    server_replication_release(&s->repl);
    server_setup_release(&s->setup);
    free(s);
}
