/*
 * Replication commands: WAIT (blocks the client, not the loop, until
 * enough followers acknowledged its writes: a job, polled before the loop
 * sleeps), REPLICAOF / SLAVEOF (follow another primary, or NO ONE:
 * promote), and DEBUG DIGEST: the content digest (docs/format.md) by
 * which a follower is shown to hold its primary's data. The role answers
 * through struct server_role; this file never sees its struct.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "server/cmd.h"

/* ---- WAIT ------------------------------------------------------------------- */

static int count_acked(const struct server *srv, uint64_t seq)
{
    return srv->role != NULL ? srv->role->count_acked(srv->role->arg, seq) : 0;
}

static void answer_wait(struct server *srv, struct client *c, int n)
{
    c->flags &= ~CLIENT_IN_WAIT;
    srv->n_waiting--;
    server_resp_add_int(&c->out, n);
    server_client_pending(srv, c);
    server_client_unblock(srv, c); /* and run the requests that came meanwhile */
}

/* Answers the WAITs that are satisfied or timed out (or all of them when
 * the instance stops). */
static void poll_waits(struct server *srv, void *state)
{
    (void)state;
    uint64_t now = rs_clock_mono_ns();
    int stopping = atomic_load(&srv->stopping);
    for (struct client *c = srv->clients, *next; c != NULL && srv->n_waiting > 0; c = next) {
        next = c->next;
        if (!(c->flags & CLIENT_IN_WAIT))
            continue;
        int n = count_acked(srv, c->wait_seq);
        if (n >= c->wait_n || stopping || (c->wait_deadline_ns != 0 && now >= c->wait_deadline_ns))
            answer_wait(srv, c, n);
    }
}

const struct server_job_type server_job_wait = {
    .name = "wait",
    .poll = poll_waits,
};

static void wait_cmd(struct cmd_ctx *x)
{
    int64_t n = 0, timeout_ms = 0;
    if (server_arg_int64(x, 1, &n) != 0 || server_arg_int64(x, 2, &timeout_ms) != 0)
        return;
    if (timeout_ms < 0) {
        server_reply_errorf(x, "ERR timeout is negative");
        return;
    }
    if (x->srv->role != NULL && x->srv->role->follower) {
        server_reply_errorf(x, "ERR WAIT cannot be used with replica instances");
        return;
    }
    server_flush_writes(x->srv);
    uint64_t seq = x->srv->last_write_seq; /* every write this client could have made */
    int acked = count_acked(x->srv, seq);
    if (acked >= n || n <= 0) {
        server_resp_add_int(reply_buf(x), acked);
        return;
    }
    struct client *c = x->c;
    c->wait_seq = seq;
    c->wait_n = (int)(n > 1000000 ? 1000000 : n);
    c->wait_deadline_ns = timeout_ms == 0 ? 0 : rs_clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    c->flags |= CLIENT_IN_WAIT;
    x->srv->n_waiting++;
    server_client_block(x->srv, c);
}

/* ---- REPLICAOF ---------------------------------------------------------------- */

static void replicaof_cmd(struct cmd_ctx *x)
{
    const struct server_role *r = x->srv->role;
    if (r == NULL) {
        server_reply_errorf(x, "ERR replication is not configured on this server");
        return;
    }
    if (server_arg_is(x, 1, "no") && server_arg_is(x, 2, "one")) {
        if (!r->follower) {
            server_resp_add_simple(reply_buf(x), "OK Already a primary");
            return;
        }
        RS_LOG_INFO("replication: REPLICAOF NO ONE from client id=%llu addr=%s", (unsigned long long)x->c->id,
                    x->c->addr);
        r->request(r->arg, NULL);
        server_reply_ok(x);
        return;
    }
    if (!r->can_follow) {
        server_reply_errorf(x, "ERR start the server with --repl-key FILE to follow a primary");
        return;
    }
    int64_t port = 0;
    if (server_arg_int64(x, 2, &port) != 0)
        return;
    if (port <= 0 || port > 65535 || arg_len(x, 1) == 0 || arg_len(x, 1) > 200) {
        server_reply_errorf(x, "ERR Invalid master port or host");
        return;
    }
    char addr[256];
    int host_v6 = memchr(arg_ptr(x, 1), ':', arg_len(x, 1)) != NULL;
    snprintf(addr, sizeof addr, host_v6 ? "[%.*s]:%lld" : "%.*s:%lld", (int)arg_len(x, 1),
             (const char *)arg_ptr(x, 1), (long long)port);
    RS_LOG_INFO("replication: REPLICAOF %s from client id=%llu addr=%s", addr, (unsigned long long)x->c->id,
                x->c->addr);
    r->request(r->arg, addr);
    server_resp_add_simple(reply_buf(x), "OK");
}

/* ---- DEBUG DIGEST ------------------------------------------------------------- */

static void debug_cmd(struct cmd_ctx *x)
{
    if (!server_arg_is(x, 1, "digest")) {
        server_reply_errorf(x, "ERR DEBUG supports only DIGEST here");
        return;
    }
    uint8_t d[RS_STORE_DIGEST_BYTES];
    char hex[2 * RS_STORE_DIGEST_BYTES + 1];
    rs_err err = RS_ERR_INIT;
    /* a full scan on the loop thread, as Redis's DEBUG DIGEST: for tests
     * and checks, not for a busy server */
    if (rs_store_digest(server_reader(x), NULL, d, NULL, &err) != RS_OK) {
        server_reply_rs_err(x, &err);
        return;
    }
    rs_hex_encode(d, sizeof d, hex, sizeof hex);
    server_resp_add_simple(reply_buf(x), hex);
}

static const struct server_cmd cmds[] = {
    {"debug", 2, CMD_DATA | CMD_ADMIN, debug_cmd, "server", "DEBUG DIGEST: the content digest of every key and value",
     "DIGEST"},
    {"wait", 3, 0, wait_cmd, "generic",
     "Blocks until the writes before it were acknowledged by the given number of followers",
     "numreplicas timeout"},
    {"replicaof", 3, CMD_ADMIN, replicaof_cmd, "server", "Follows another primary, or with NO ONE becomes a primary",
     "host port"},
    {"slaveof", 3, CMD_ADMIN, replicaof_cmd, "server", "The old name of REPLICAOF", "host port"},
};

const struct server_cmd_set server_cmds_repl = {cmds, sizeof cmds / sizeof cmds[0]};
