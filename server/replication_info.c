/*
 * The role's side of struct server_role: what an instance may ask of the
 * replication role it serves under (replication.h), namely INFO's
 * replication section laid out like Redis's, the followers that
 * acknowledged a write (WAIT), and a REPLICAOF request.
 */
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "server/replication.h"

/* ---- INFO replication ------------------------------------------------------ */

static const char *peer_state(rs_wal_peer_state s)
{
    return s == RS_WAL_PEER_STREAMING ? "online" : s == RS_WAL_PEER_CHECKPOINT ? "send_bulk" : "wait_bgsave";
}

static void info_followers(struct replication *r, FILE *f)
{
    rs_wal_follower_info fi[16];
    size_t n = r->primary != NULL ? rs_wal_primary_followers(r->primary, fi, 16) : 0;
    fprintf(f, "role:master\r\nconnected_slaves:%zu\r\n", n);
    for (size_t i = 0; i < n && i < 16; i++) {
        const char *colon = strrchr(fi[i].addr, ':');
        fprintf(f, "slave%zu:ip=%.*s,port=%s,state=%s,offset=%llu,lag=%llu,name=%s,acked_seq=%llu,"
                   "durable_seq=%llu,lag_seqs=%llu,lag_ms=%llu,acked_version=%llu\r\n",
                i, colon != NULL ? (int)(colon - fi[i].addr) : 0, fi[i].addr, colon != NULL ? colon + 1 : "",
                peer_state(fi[i].state), (unsigned long long)fi[i].acked_seq, (unsigned long long)(fi[i].lag_ms / 1000),
                fi[i].name, (unsigned long long)fi[i].acked_seq, (unsigned long long)fi[i].durable_seq,
                (unsigned long long)fi[i].lag_seqs, (unsigned long long)fi[i].lag_ms,
                (unsigned long long)fi[i].acked_version);
    }
}

static void info_primary(struct replication *r, FILE *f, rs_store *store)
{
    info_followers(r, f);
    if (r->primary != NULL) {
        rs_wal_primary_stats ps;
        rs_wal_primary_stats_get(r->primary, &ps);
        fprintf(f, "repl_listen_port:%u\r\nrepl_checkpoints_sent:%llu\r\nrepl_divergences:%llu\r\n"
                   "repl_refused:%llu\r\nrepl_slow_drops:%llu\r\nrepl_unauth_dropped:%llu\r\n"
                   "repl_auth_failures:%llu\r\n",
                rs_wal_primary_port(r->primary), (unsigned long long)ps.n_checkpoints,
                (unsigned long long)ps.n_divergences, (unsigned long long)ps.n_refused,
                (unsigned long long)ps.n_slow_drops, (unsigned long long)ps.n_unauth_dropped,
                (unsigned long long)ps.n_auth_failures);
    }
    fprintf(f, "master_repl_offset:%llu\r\nrepl_version:%llu\r\n", (unsigned long long)rs_store_latest_seq(store),
            (unsigned long long)rs_store_version_latest(store));
    uint8_t h[RS_WAL_HISTORY_BYTES];
    char hex[2 * RS_WAL_HISTORY_BYTES + 1];
    if (rs_wal_history_current(store, h, NULL) == RS_OK) {
        rs_hex_encode(h, sizeof h, hex, sizeof hex);
        fprintf(f, "repl_history_id:%s\r\n", hex);
    }
}

static const char *link_status(rs_wal_follower_state s)
{
    return s == RS_WAL_FOLLOWER_STREAMING ? "up" : "down";
}

static void info_follower(struct replication *r, FILE *f)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(r->follower, &st);
    const char *colon = strrchr(r->follow_addr, ':');
    char hist[2 * RS_WAL_HISTORY_BYTES + 1];
    rs_hex_encode(st.history, sizeof st.history, hist, sizeof hist);
    fprintf(f, "role:slave\r\nmaster_host:%.*s\r\nmaster_port:%s\r\nmaster_link_status:%s\r\n"
               "master_sync_in_progress:%d\r\nslave_repl_offset:%llu\r\nslave_read_only:1\r\n"
               "master_repl_offset:%llu\r\nrepl_lag_ms:%llu\r\nrepl_connects:%llu\r\nrepl_resyncs:%llu\r\n"
               "repl_divergences:%llu\r\nrepl_auth_failures:%llu\r\nrepl_local_errors:%llu\r\n"
               "repl_history_id:%s\r\nrepl_version:%llu\r\nrepl_last_error:%s\r\n",
            colon != NULL ? (int)(colon - r->follow_addr) : 0, r->follow_addr, colon != NULL ? colon + 1 : "",
            link_status(st.state), st.state == RS_WAL_FOLLOWER_BOOTSTRAPPING,
            (unsigned long long)st.applied_seq, (unsigned long long)st.primary_seq, (unsigned long long)st.lag_ms,
            (unsigned long long)st.n_connects, (unsigned long long)st.n_resyncs,
            (unsigned long long)st.n_divergences, (unsigned long long)st.n_auth_failures,
            (unsigned long long)st.n_local_errors, hist, (unsigned long long)st.applied_version, st.last_error.msg);
}

/* ---- the role's functions --------------------------------------------------- */

static void role_info(void *arg, rs_store *store, FILE *f)
{
    struct replication *r = arg;
    if (r->follower != NULL)
        info_follower(r, f);
    else
        info_primary(r, f, store);
}

static int role_count_acked(void *arg, uint64_t seq)
{
    struct replication *r = arg;
    return r->primary != NULL ? rs_wal_primary_count_acked(r->primary, seq) : 0;
}

static void role_request(void *arg, const char *addr)
{
    server_replication_request(arg, addr != NULL ? REPL_NEXT_FOLLOW : REPL_NEXT_PROMOTE, addr);
}

void server_replication_role(struct replication *r)
{
    r->role = (struct server_role){
        .arg = r,
        .follower = r->follower != NULL,
        .can_follow = r->has_key,
        .count_acked = role_count_acked,
        .info = role_info,
        .request = role_request,
    };
}
