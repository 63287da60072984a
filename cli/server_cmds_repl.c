/*
 * Replication commands: WAIT (blocks the client, not the loop, until
 * enough followers acknowledged its writes), REPLICAOF / SLAVEOF (follow
 * another primary, or NO ONE: promote), INFO's replication section laid
 * out like Redis's, and DEBUG DIGEST: the content digest (docs/format.md)
 * by which a follower is shown to hold its primary's data.
 */
#include <stdio.h>
#include <string.h>

#include "cli/repl.h"
#include "cli/server_int.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"

/* ---- WAIT ------------------------------------------------------------------- */

static void answer_wait(struct server *srv, struct client *c, int n)
{
    c->flags &= ~CLIENT_IN_WAIT;
    srv->n_waiting--;
    resp_add_int(&c->out, n);
    client_pending(srv, c);
    client_unblock(srv, c); /* and run the requests that came meanwhile */
}

void server_repl_check_waits(struct server *srv)
{
    struct repl *r = srv->repl;
    uint64_t now = rs_clock_mono_ns();
    int stopping = atomic_load(&srv->stopping);
    for (struct client *c = srv->clients, *next; c != NULL && srv->n_waiting > 0; c = next) {
        next = c->next;
        if (!(c->flags & CLIENT_IN_WAIT))
            continue;
        int n = r != NULL && r->primary != NULL ? rs_wal_primary_count_acked(r->primary, c->wait_seq) : 0;
        if (n >= c->wait_n || stopping || (c->wait_deadline_ns != 0 && now >= c->wait_deadline_ns))
            answer_wait(srv, c, n);
    }
}

static void wait_cmd(struct cmd_ctx *x)
{
    struct repl *r = x->srv->repl;
    int64_t n = 0, timeout_ms = 0;
    if (arg_int64(x, 1, &n) != 0 || arg_int64(x, 2, &timeout_ms) != 0)
        return;
    if (timeout_ms < 0) {
        reply_errorf(x, "ERR timeout is negative");
        return;
    }
    if (r != NULL && r->follower != NULL) {
        reply_errorf(x, "ERR WAIT cannot be used with replica instances");
        return;
    }
    server_flush_writes(x->srv);
    uint64_t seq = x->srv->last_write_seq; /* every write this client could have made */
    int acked = r != NULL && r->primary != NULL ? rs_wal_primary_count_acked(r->primary, seq) : 0;
    if (acked >= n || n <= 0) {
        resp_add_int(reply_buf(x), acked);
        return;
    }
    struct client *c = x->c;
    c->wait_seq = seq;
    c->wait_n = (int)(n > 1000000 ? 1000000 : n);
    c->wait_deadline_ns = timeout_ms == 0 ? 0 : rs_clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    c->flags |= CLIENT_IN_WAIT;
    x->srv->n_waiting++;
    client_block(x->srv, c);
}

/* ---- REPLICAOF ---------------------------------------------------------------- */

static void replicaof_cmd(struct cmd_ctx *x)
{
    struct repl *r = x->srv->repl;
    if (r == NULL) {
        reply_errorf(x, "ERR replication is not configured on this server");
        return;
    }
    if (arg_is(x, 1, "no") && arg_is(x, 2, "one")) {
        if (r->follower == NULL) {
            resp_add_simple(reply_buf(x), "OK Already a primary");
            return;
        }
        RS_LOG_INFO("replication: REPLICAOF NO ONE from client id=%llu addr=%s", (unsigned long long)x->c->id,
                    x->c->addr);
        repl_request(r, REPL_NEXT_PROMOTE, NULL);
        reply_ok(x);
        return;
    }
    if (!r->has_key) {
        reply_errorf(x, "ERR start the server with --repl-key FILE to follow a primary");
        return;
    }
    int64_t port = 0;
    if (arg_int64(x, 2, &port) != 0)
        return;
    if (port <= 0 || port > 65535 || arg_len(x, 1) == 0 || arg_len(x, 1) > 200) {
        reply_errorf(x, "ERR Invalid master port or host");
        return;
    }
    char addr[256];
    int host_v6 = memchr(arg_ptr(x, 1), ':', arg_len(x, 1)) != NULL;
    snprintf(addr, sizeof addr, host_v6 ? "[%.*s]:%lld" : "%.*s:%lld", (int)arg_len(x, 1),
             (const char *)arg_ptr(x, 1), (long long)port);
    RS_LOG_INFO("replication: REPLICAOF %s from client id=%llu addr=%s", addr, (unsigned long long)x->c->id,
                x->c->addr);
    repl_request(r, REPL_NEXT_FOLLOW, addr);
    resp_add_simple(reply_buf(x), "OK");
}

/* ---- INFO replication -------------------------------------------------------- */

static void info_primary(struct repl *r, FILE *f, rs_store *store)
{
    rs_wal_follower_info fi[16];
    size_t n = r != NULL && r->primary != NULL ? rs_wal_primary_followers(r->primary, fi, 16) : 0;
    fprintf(f, "role:master\r\nconnected_slaves:%zu\r\n", n);
    for (size_t i = 0; i < n && i < 16; i++) {
        const char *colon = strrchr(fi[i].addr, ':');
        fprintf(f, "slave%zu:ip=%.*s,port=%s,state=%s,offset=%llu,lag=%llu,name=%s,acked_seq=%llu,"
                   "durable_seq=%llu,lag_seqs=%llu,lag_ms=%llu,acked_version=%llu\r\n",
                i, colon != NULL ? (int)(colon - fi[i].addr) : 0, fi[i].addr, colon != NULL ? colon + 1 : "",
                fi[i].state == RS_WAL_PEER_STREAMING ? "online" : fi[i].state == RS_WAL_PEER_CHECKPOINT
                                                                       ? "send_bulk" : "wait_bgsave",
                (unsigned long long)fi[i].acked_seq, (unsigned long long)(fi[i].lag_ms / 1000), fi[i].name,
                (unsigned long long)fi[i].acked_seq, (unsigned long long)fi[i].durable_seq,
                (unsigned long long)fi[i].lag_seqs, (unsigned long long)fi[i].lag_ms,
                (unsigned long long)fi[i].acked_version);
    }
    if (r != NULL && r->primary != NULL) {
        rs_wal_primary_stats ps;
        rs_wal_primary_stats_get(r->primary, &ps);
        fprintf(f, "repl_listen_port:%u\r\nrepl_checkpoints_sent:%llu\r\nrepl_divergences:%llu\r\n"
                   "repl_refused:%llu\r\nrepl_slow_drops:%llu\r\n",
                rs_wal_primary_port(r->primary), (unsigned long long)ps.n_checkpoints,
                (unsigned long long)ps.n_divergences, (unsigned long long)ps.n_refused,
                (unsigned long long)ps.n_slow_drops);
    }
    fprintf(f, "master_repl_offset:%llu\r\nrepl_version:%llu\r\n", (unsigned long long)rs_store_latest_seq(store),
            (unsigned long long)rs_store_version_latest(store));
}

static const char *link_status(rs_wal_follower_state s)
{
    return s == RS_WAL_FOLLOWER_STREAMING ? "up" : "down";
}

static void info_follower(struct repl *r, FILE *f)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(r->follower, &st);
    const char *colon = strrchr(r->follow_addr, ':');
    char hist[2 * RS_WAL_HISTORY_BYTES + 1];
    rs_hex_encode(st.history, sizeof st.history, hist, sizeof hist);
    fprintf(f, "role:slave\r\nmaster_host:%.*s\r\nmaster_port:%s\r\nmaster_link_status:%s\r\n"
               "master_sync_in_progress:%d\r\nslave_repl_offset:%llu\r\nslave_read_only:1\r\n"
               "master_repl_offset:%llu\r\nrepl_lag_ms:%llu\r\nrepl_connects:%llu\r\nrepl_resyncs:%llu\r\n"
               "repl_divergences:%llu\r\nrepl_history_id:%s\r\nrepl_version:%llu\r\nrepl_last_error:%s\r\n",
            colon != NULL ? (int)(colon - r->follow_addr) : 0, r->follow_addr, colon != NULL ? colon + 1 : "",
            link_status(st.state), st.state == RS_WAL_FOLLOWER_BOOTSTRAPPING,
            (unsigned long long)st.applied_seq, (unsigned long long)st.primary_seq, (unsigned long long)st.lag_ms,
            (unsigned long long)st.n_connects, (unsigned long long)st.n_resyncs,
            (unsigned long long)st.n_divergences, hist, (unsigned long long)st.applied_version, st.last_error.msg);
}

void server_info_replication(struct server *srv, FILE *f)
{
    struct repl *r = srv->repl;
    if (r != NULL && r->follower != NULL) {
        info_follower(r, f);
        return;
    }
    info_primary(r, f, srv->store);
    uint8_t h[RS_WAL_HISTORY_BYTES];
    char hex[2 * RS_WAL_HISTORY_BYTES + 1];
    if (rs_wal_history_current(srv->store, h, NULL) == RS_OK) {
        rs_hex_encode(h, sizeof h, hex, sizeof hex);
        fprintf(f, "repl_history_id:%s\r\n", hex);
    }
}

/* ---- DEBUG DIGEST ------------------------------------------------------------- */

static void debug_cmd(struct cmd_ctx *x)
{
    if (!arg_is(x, 1, "digest")) {
        reply_errorf(x, "ERR DEBUG supports only DIGEST here");
        return;
    }
    uint8_t d[RS_STORE_DIGEST_BYTES];
    char hex[2 * RS_STORE_DIGEST_BYTES + 1];
    rs_err err = RS_ERR_INIT;
    /* a full scan on the loop thread, as Redis's DEBUG DIGEST: for tests
     * and checks, not for a busy server */
    if (rs_store_digest(server_reader(x), NULL, d, NULL, &err) != RS_OK) {
        reply_rs_err(x, &err);
        return;
    }
    rs_hex_encode(d, sizeof d, hex, sizeof hex);
    resp_add_simple(reply_buf(x), hex);
}

static const struct server_cmd cmds[] = {
    {"debug", 2, CMD_DATA, debug_cmd, "server", "DEBUG DIGEST: the content digest of every key and value",
     "DIGEST"},
    {"wait", 3, 0, wait_cmd, "generic",
     "Blocks until the writes before it were acknowledged by the given number of followers",
     "numreplicas timeout"},
    {"replicaof", 3, 0, replicaof_cmd, "server", "Follows another primary, or with NO ONE becomes a primary",
     "host port"},
    {"slaveof", 3, 0, replicaof_cmd, "server", "The old name of REPLICAOF", "host port"},
};

const struct server_cmd_set server_cmds_repl = {cmds, sizeof cmds / sizeof cmds[0]};
