/*
 * INFO: a table of sections, each a function printing Redis-style
 * "field:value" lines. The statistics come from the metrics tables
 * (stats.c), the jobs add their own lines to their section (jobs.c), and
 * the replication role its section. A new section is one function and one
 * row in the table; "INFO" alone prints the rows marked default, "INFO
 * all" every row, "INFO a b" the ones named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "server/cmd.h"

static void info_server(struct server *srv, FILE *f)
{
    uint64_t up = (rs_clock_mono_ns() - srv->started_ns) / 1000000000ull;
    const char *address = srv->listeners[0].address;
    const char *port = strrchr(address, ':');
    fprintf(f, "redis_version:%s\r\nrockstream_version:%s\r\nredis_mode:standalone\r\n"
               "process_id:%ld\r\ntcp_port:%s\r\nlisten:%s\r\nlisten_tls:%s\r\nuptime_in_seconds:%llu\r\n"
               "uptime_in_days:%llu\r\nconfig_file:%s\r\ndb_path:%s\r\nread_only:%d\r\nauth_required:%d\r\n",
            SERVER_REDIS_COMPAT_VERSION, RS_VERSION, (long)getpid(), port != NULL ? port + 1 : "", address,
            srv->n_listeners > 1 ? srv->listeners[1].address : "", (unsigned long long)up,
            (unsigned long long)(up / 86400), srv->cfg->config_file != NULL ? srv->cfg->config_file : "",
            rs_store_path(srv->store), srv->read_only || rs_store_is_versioned(srv->store),
            srv->setup->has_password);
}

static void server_rows(struct server *srv, FILE *f, const char *group)
{
    struct server_stats st;
    server_stats_collect(srv, &st);
    rs_metrics_write(f, RS_METRIC_FORMAT_INFO, server_metrics, server_n_metrics, &st, group);
}

static void store_rows(struct server *srv, FILE *f, const char *group)
{
    rs_store_stats st = {0};
    rs_store_stats_get(srv->store, &st, NULL);
    size_t n = 0;
    const rs_metric *m = rs_server_store_metrics(&n);
    rs_metrics_write(f, RS_METRIC_FORMAT_INFO, m, n, &st, group);
}

static void info_clients(struct server *srv, FILE *f)
{
    server_rows(srv, f, "clients");
    fprintf(f, "maxclients:%llu\r\nclient_output_limit_bytes:%llu\r\nclient_idle_timeout_seconds:%llu\r\n",
            (unsigned long long)srv->cfg->max_clients, (unsigned long long)srv->cfg->max_output,
            (unsigned long long)srv->cfg->idle_timeout_s);
}

static void info_persistence(struct server *srv, FILE *f)
{
    const rs_store_config *cfg = rs_store_config_get(srv->store);
    fprintf(f, "loading:0\r\nsync_policy:%s\r\ngroup_commit_us:%u\r\n", rs_store_sync_name(cfg->sync),
            cfg->group_commit_us);
    if (srv->synced_seq == UINT64_MAX)
        fprintf(f, "synced_seq:none\r\n"); /* sync none: nothing is waited for */
    else
        fprintf(f, "synced_seq:%llu\r\n", (unsigned long long)srv->synced_seq);
    fprintf(f, "last_sync_status:%s\r\n", srv->store_failure.code == RS_OK ? "ok" : "err");
    /* latest_seq, wal_syncs, and the versioned state's range (0 and 0: none) */
    store_rows(srv, f, "persistence");
    server_jobs_report(srv, "persistence", f);
}

static void info_stats(struct server *srv, FILE *f) { server_rows(srv, f, "stats"); }

static void info_replication(struct server *srv, FILE *f)
{
    if (srv->role != NULL)
        srv->role->info(srv->role->arg, srv->store, f);
    else
        fprintf(f, "role:master\r\nconnected_slaves:0\r\n");
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

static void info_store(struct server *srv, FILE *f) { store_rows(srv, f, "store"); }

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
    {"replication", 1, info_replication},
    {"store", 1, info_store},
    {"keyspace", 1, info_keyspace},
};

static int wanted(const struct cmd_ctx *x, const struct info_section *s)
{
    if (x->argc == 1)
        return s->in_default;
    for (size_t i = 1; i < x->argc; i++) {
        if (server_arg_is(x, i, s->name) || server_arg_is(x, i, "all") || server_arg_is(x, i, "everything") ||
            (server_arg_is(x, i, "default") && s->in_default))
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
        server_reply_errorf(x, "ERR out of memory");
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
    server_resp_add_bulk(reply_buf(x), text, len);
    free(text);
}

static const struct server_cmd cmds[] = {
    {"info", -1, 0, info_cmd, "server", "Returns information and statistics about the server",
     "[section [section ...]]"},
};

const struct server_cmd_set server_cmds_info = {cmds, sizeof cmds / sizeof cmds[0]};
