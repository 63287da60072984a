/*
 * Running one request, in the manner of Redis's processCommand(): refuse
 * everything but AUTH, HELLO and QUIT before the client authenticated,
 * look the name up, check the arity, refuse writes on a read-only server,
 * run the command, and park its reply if it read or wrote data that is not
 * durable yet. Also the gathering of writes: a client's pipelined writes
 * become one RocksDB write.
 */
#include <stdio.h>

#include "common/log.h"
#include "server/cmd.h"

/* Redis 7's wording, so clients that match on it keep working. */
static void reply_unknown(struct cmd_ctx *x)
{
    char args[160] = "";
    size_t used = 0;
    for (size_t i = 1; i < x->argc && used < 128; i++) {
        int n = snprintf(args + used, sizeof args - used, "'%.*s' ", arg_shown(x, i, 128 - used),
                         (const char *)arg_ptr(x, i));
        if (n < 0 || (size_t)n >= sizeof args - used)
            break;
        used += (size_t)n;
    }
    server_reply_errorf(x, "ERR unknown command '%.*s', with args beginning with: %s", arg_shown(x, 0, 128),
                        (const char *)arg_ptr(x, 0), args);
}

/* A versioned database is written only by versioned commits (the store
 * refuses plain writes, docs/versioned-state.md): refused before the
 * command runs, so no OK is ever queued for a write that cannot happen. */
static void reply_versioned(struct cmd_ctx *x)
{
    server_reply_errorf(x, "READONLY database holds versioned state (latest version %llu): it is written only by "
                           "versioned commits (rs_store_commit); reads, GETAT and SNAPSHOT work",
                        (unsigned long long)rs_store_version_latest(x->srv->store));
}

static int arity_ok(const struct server_cmd *cmd, size_t argc)
{
    return cmd->arity >= 0 ? argc == (size_t)cmd->arity : argc >= (size_t)-cmd->arity;
}

/* Before AUTH only AUTH, HELLO and QUIT run; anything else, even an
 * unknown name, gets NOAUTH, so nothing about the server leaks first. */
static int allowed_before_auth(const struct client *c, const struct server_cmd *cmd)
{
    return (c->flags & CLIENT_AUTHENTICATED) || (cmd != NULL && (cmd->flags & CMD_NOAUTH));
}

void server_dispatch(struct server *srv, struct client *c, const uint8_t *base, const struct resp_arg *args,
                     size_t argc)
{
    struct cmd_ctx x = {.srv = srv, .c = c, .base = base, .args = args, .argc = argc};
    if (server_client_close_if_over_output(srv, c))
        return;
    srv->stats.commands_processed++;
    c->n_commands++;
    const struct server_cmd *cmd = server_cmd_lookup(srv->setup->cmds, arg_ptr(&x, 0), arg_len(&x, 0));
    /* replies leave in request order: the gathered GETs' go first */
    if (cmd == NULL || !(cmd->flags & CMD_GATHERED))
        server_flush_reads(srv);
    if (!allowed_before_auth(c, cmd)) {
        server_reply_errorf(&x, "NOAUTH Authentication required.");
    } else if (cmd == NULL) {
        reply_unknown(&x);
    } else if (!arity_ok(cmd, argc)) {
        server_reply_errorf(&x, "ERR wrong number of arguments for '%s' command", cmd->name);
    } else if ((cmd->flags & CMD_WRITE) && srv->read_only) {
        server_reply_errorf(&x, "READONLY You can't write against a read only server");
    } else if ((cmd->flags & CMD_WRITE) && rs_store_is_versioned(srv->store)) {
        reply_versioned(&x);
    } else {
        x.reply_off = c->out.len;
        cmd->proc(&x);
        if (cmd->flags & CMD_DATA)
            server_client_hold(srv, c, x.reply_off, srv->last_write_seq);
    }
    if (c->out.oom)
        server_client_close(srv, c, "out of memory for replies");
}

/* ---- gathered writes --------------------------------------------------------- */

void server_write_defer(struct cmd_ctx *x)
{
    struct server *srv = x->srv;
    if (srv->deferred_client != x->c) {
        server_flush_writes(srv); /* another client's: cannot happen, see run_requests */
        srv->deferred_client = x->c;
        srv->deferred_off = x->reply_off;
    }
}

void server_flush_writes(struct server *srv)
{
    struct client *c = srv->deferred_client;
    if (c == NULL)
        return;
    srv->deferred_client = NULL;
    rs_err err = RS_ERR_INIT;
    uint64_t seq = 0;
    rs_code rc = rs_store_write_nowait(srv->store, srv->batch, &seq, &err);
    rs_store_batch_clear(srv->batch);
    if (rc != RS_OK) {
        RS_LOG_ERR("serve: write failed, closing client id=%llu addr=%s: %s", (unsigned long long)c->id, c->addr,
                   err.msg);
        server_client_close(srv, c, "write failed");
        return;
    }
    if (seq > srv->last_write_seq)
        srv->last_write_seq = seq;
    server_client_hold(srv, c, srv->deferred_off, seq);
}

rs_store *server_reader(struct cmd_ctx *x)
{
    server_flush_writes(x->srv);
    return x->srv->store;
}
