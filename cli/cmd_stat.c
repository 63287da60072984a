/*
 * rockstream stat: a database's properties and statistics, as
 * "name: value" lines, or one RocksDB property verbatim.
 */
#include <stdlib.h>

#include "cli/cli.h"

enum { OPT_PROPERTY = CLI_OPT_LAST_SHARED };

rs_code cli_print_stats(FILE *f, rs_store *store, rs_err *err)
{
    rs_store_stats st;
    rs_code rc = rs_store_stats_get(store, &st, err);
    if (rc != RS_OK)
        return rc;
    uint8_t id[16];
    rs_store_id(store, id);
    fprintf(f, "database: %s\n", rs_store_path(store));
    fprintf(f, "database_id: ");
    cli_write_hex(f, id, sizeof id);
    fprintf(f, "\n");
    /* the same table INFO shows (server/stats.c) */
    size_t n = 0;
    const rs_metric *m = rs_server_store_metrics(&n);
    rs_metrics_write(f, RS_METRIC_FORMAT_TEXT, m, n, &st, NULL);
    fprintf(f, "sync_policy: %s\n", rs_store_sync_name(rs_store_config_get(store)->sync));
    return RS_OK;
}

struct stat_args {
    struct cli_store_args store;
    const char           *property;
};

static rs_code stat_option(int opt, const char *arg, void *ctx, rs_err *err)
{
    struct stat_args *a = ctx;
    (void)err;
    if (opt != OPT_PROPERTY)
        return RS_E_INVALID;
    a->property = arg;
    return RS_OK;
}

static int stat_main(int argc, char **argv, rs_err *err)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS,
        {"property", required_argument, NULL, OPT_PROPERTY},
        {0},
    };
    struct stat_args a = {0};
    int help_shown = 0;
    rs_code rc = cli_parse_args(&cli_cmd_stat, argc, argv, longopts, &a.store, stat_option, &a, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    if (optind < argc)
        return cli_usage_error(&cli_cmd_stat, err, "unexpected argument '%s'", argv[optind]);
    rs_store *store = NULL;
    if ((rc = cli_store_open(&a.store, &store, err)) != RS_OK)
        return rc;
    if (a.property != NULL) {
        char *v = rs_store_property(store, a.property);
        if (v == NULL)
            rc = rs_err_set(err, RS_E_NOTFOUND, "stat: RocksDB has no property '%s'", a.property);
        else
            printf("%s\n", v);
        free(v);
    } else {
        rc = cli_print_stats(stdout, store, err);
    }
    rs_store_close(store);
    return rc;
}

const struct cli_cmd cli_cmd_stat = {
    .name = "stat",
    .summary = "print a database's properties and statistics",
    .usage = "stat --db DIR [--property NAME]",
    .help =
        "\nPrints one \"name: value\" line per figure: latest sequence number,\n"
        "estimated keys (RocksDB's estimate, not a count), live SST bytes, memtable\n"
        "bytes, pending compaction bytes, block cache usage, hits and misses since\n"
        "the database was opened. The database must not be open in a server.\n\n"
        "  --property NAME        print one RocksDB property instead, e.g.\n"
        "                         rocksdb.stats or rocksdb.levelstats\n",
    .example = "rockstream stat --db /tmp/demo",
    .uses_store = 1,
    .run = stat_main,
};
