/*
 * INFO: a table of sections, each a function printing Redis-style
 * "field:value" lines. A new section (replication, backup) is one function
 * and one row in the table; "INFO" alone prints the rows marked default,
 * "INFO all" every row, "INFO a b" the ones named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/server_int.h"
#include "common/clock.h"

#ifndef RS_VERSION
#define RS_VERSION "dev"
#endif

/* Clients and tools decide which commands to use from redis_version; we
 * claim the protocol level whose commands we answer like Redis 7.0 does. */
#define REDIS_COMPAT_VERSION "7.0.0"

static void info_server(struct server *srv, FILE *f)
{
    uint64_t up = (rs_clock_mono_ns() - srv->started_ns) / 1000000000ull;
    const char *port = strrchr(srv->address, ':');
    fprintf(f, "redis_version:%s\r\nrockstream_version:%s\r\nredis_mode:standalone\r\n"
               "process_id:%ld\r\ntcp_port:%s\r\nlisten:%s\r\nuptime_in_seconds:%llu\r\n"
               "uptime_in_days:%llu\r\nconfig_file:%s\r\ndb_path:%s\r\nread_only:%d\r\n",
            REDIS_COMPAT_VERSION, RS_VERSION, (long)getpid(), port != NULL ? port + 1 : "", srv->address,
            (unsigned long long)up, (unsigned long long)(up / 86400),
            srv->cfg.config_file != NULL ? srv->cfg.config_file : "", rs_store_path(srv->store),
            srv->read_only || rs_store_is_versioned(srv->store));
}

static void info_clients(struct server *srv, FILE *f)
{
    fprintf(f, "connected_clients:%zu\r\nmaxclients:%llu\r\nclients_waiting_for_sync:%zu\r\n"
               "client_output_limit_bytes:%llu\r\nclient_idle_timeout_seconds:%llu\r\n",
            srv->n_clients, (unsigned long long)srv->cfg.max_clients, srv->n_held,
            (unsigned long long)srv->cfg.max_output, (unsigned long long)srv->cfg.idle_timeout_s);
}

static void info_persistence(struct server *srv, FILE *f)
{
    const rs_store_config *cfg = rs_store_config_get(srv->store);
    rs_store_stats st = {0};
    rs_store_stats_get(srv->store, &st, NULL);
    fprintf(f, "loading:0\r\nsync_policy:%s\r\ngroup_commit_us:%u\r\nlatest_seq:%llu\r\n",
            rs_store_sync_name(cfg->sync), cfg->group_commit_us, (unsigned long long)st.latest_seq);
    if (srv->synced_seq == UINT64_MAX)
        fprintf(f, "synced_seq:none\r\n"); /* sync none: nothing is waited for */
    else
        fprintf(f, "synced_seq:%llu\r\n", (unsigned long long)srv->synced_seq);
    fprintf(f, "wal_syncs:%llu\r\nlast_sync_status:%s\r\n", (unsigned long long)st.wal_syncs,
            srv->store_failure.code == RS_OK ? "ok" : "err");
    /* the versioned state (docs/versioned-state.md); 0 and 0: none */
    fprintf(f, "version_latest:%llu\r\nversion_earliest:%llu\r\n", (unsigned long long)st.version_latest,
            (unsigned long long)st.version_earliest);
    snapshot_job_info(srv, f);
}

static void info_stats(struct server *srv, FILE *f)
{
    const struct server_stats *s = &srv->stats;
    fprintf(f, "total_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
               "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\nrejected_connections:%llu\r\n"
               "client_output_buffer_limit_disconnections:%llu\r\nclient_idle_timeout_disconnections:%llu\r\n"
               "total_protocol_errors:%llu\r\nkeyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n"
               "total_replies_waited_for_sync:%llu\r\n",
            (unsigned long long)s->connections_received, (unsigned long long)s->commands_processed,
            (unsigned long long)s->net_input_bytes, (unsigned long long)s->net_output_bytes,
            (unsigned long long)s->rejected_connections, (unsigned long long)s->output_limit_disconnects,
            (unsigned long long)s->idle_disconnects, (unsigned long long)s->protocol_errors,
            (unsigned long long)s->keyspace_hits, (unsigned long long)s->keyspace_misses,
            (unsigned long long)s->replies_parked);
}

/* Redis lists a database only when it has keys. keys= is RocksDB's
 * estimate, as DBSIZE is. */
static void info_keyspace(struct server *srv, FILE *f)
{
    char *v = rs_store_property(srv->store, "rocksdb.estimate-num-keys");
    unsigned long long n = v != NULL ? strtoull(v, NULL, 10) : 0;
    free(v);
    if (n > 0)
        fprintf(f, "db0:keys=%llu,expires=0,avg_ttl=0\r\n", n);
}

static void info_store(struct server *srv, FILE *f)
{
    rs_store_stats st = {0};
    rs_store_stats_get(srv->store, &st, NULL);
    fprintf(f, "estimated_keys:%llu\r\nlive_sst_bytes:%llu\r\nmemtable_bytes:%llu\r\nsst_files:%llu\r\n"
               "pending_compaction_bytes:%llu\r\nrunning_compactions:%llu\r\nblock_cache_usage_bytes:%llu\r\n"
               "block_cache_capacity_bytes:%llu\r\nblock_cache_hits:%llu\r\nblock_cache_misses:%llu\r\n",
            (unsigned long long)st.estimated_keys, (unsigned long long)st.live_sst_bytes,
            (unsigned long long)st.memtable_bytes, (unsigned long long)st.n_sst_files,
            (unsigned long long)st.pending_compaction_bytes, (unsigned long long)st.n_running_compactions,
            (unsigned long long)st.block_cache_usage_bytes, (unsigned long long)st.block_cache_capacity_bytes,
            (unsigned long long)st.block_cache_hits, (unsigned long long)st.block_cache_misses);
}

struct info_section {
    const char *name;   /* lower case; printed capitalised as "# Name" */
    int in_default;
    void (*fn)(struct server *srv, FILE *f);
};

static const struct info_section sections[] = {
    {"server", 1, info_server},
    {"clients", 1, info_clients},
    {"persistence", 1, info_persistence},
    {"stats", 1, info_stats},
    {"replication", 1, server_info_replication},
    {"store", 1, info_store},
    {"keyspace", 1, info_keyspace},
};

static int wanted(const struct cmd_ctx *x, const struct info_section *s)
{
    if (x->argc == 1)
        return s->in_default;
    for (size_t i = 1; i < x->argc; i++) {
        if (arg_is(x, i, s->name) || arg_is(x, i, "all") || arg_is(x, i, "everything") ||
            (arg_is(x, i, "default") && s->in_default))
            return 1;
    }
    return 0;
}

static void info_cmd(struct cmd_ctx *x)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        reply_errorf(x, "ERR out of memory");
        return;
    }
    int first = 1;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (!wanted(x, &sections[i]))
            continue;
        fprintf(f, "%s# %c%s\r\n", first ? "" : "\r\n", sections[i].name[0] - 32, sections[i].name + 1);
        sections[i].fn(x->srv, f);
        first = 0;
    }
    fclose(f);
    resp_add_bulk(reply_buf(x), text, len);
    free(text);
}

static const struct server_cmd cmds[] = {
    {"info", -1, 0, info_cmd, "server", "Returns information and statistics about the server",
     "[section [section ...]]"},
};

const struct server_cmd_set server_cmds_info = {cmds, sizeof cmds / sizeof cmds[0]};
