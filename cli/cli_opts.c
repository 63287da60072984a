/*
 * Options every command shares: logging, and where the database is and how
 * to open it. Each long option name is also its key in a config file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "common/log.h"

const char cli_common_options_help[] =
    "  --log-level LEVEL      error, warn, info (default), debug or trace\n"
    "  --log-format FORMAT    text (default) or json, one event per line on stderr\n"
    "  -h, --help             show this help\n";

const char cli_store_options_help[] =
    "Database options (docs/store.md explains each):\n"
    "  --db DIR               the database directory (required)\n"
    "  --create               create the database if it does not exist\n"
    "  --sync POLICY          always, group (default) or none\n"
    "  --group-commit-us N    group: minimum microseconds between fsyncs (0)\n"
    "  --block-cache SIZE     block cache size (256M)\n"
    "  --write-buffer SIZE    memtable size (64M)\n"
    "  --write-buffers N      memtables kept in memory (4)\n"
    "  --bloom-bits N         bloom filter bits per key, 0 for none (10)\n"
    "  --compression C        codec of the middle levels: none, lz4 (default), zstd\n"
    "  --bottom-compression C codec of the last level: none, lz4, zstd (default)\n"
    "  --zstd-level N         zstd level for the last level (3)\n"
    "  --tier PATH:SIZE       a storage tier; repeat, fastest first; the last\n"
    "                         tier's size is ignored (default: all in --db)\n"
    "  --background-jobs N    flush and compaction threads (number of CPUs)\n"
    "  --wal-keep-seconds N   keep WAL files this long for shipping (3600)\n"
    "  --wal-keep-bytes SIZE  and at most this much of them (1G)\n";

static int parse_scaled(const char *s, uint64_t unit, uint64_t *out)
{
    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || v < 0)
        return -1;
    uint64_t mult = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = unit; end++; break;
    case 'm': case 'M': mult = unit * unit; end++; break;
    case 'g': case 'G': mult = unit * unit * unit; end++; break;
    case 't': case 'T': mult = unit * unit * unit * unit; end++; break;
    default: return -1;
    }
    if (*end == 'i' || *end == 'B')
        end += *end == 'i' && end[1] == 'B' ? 2 : 1;
    if (*end != '\0')
        return -1;
    double total = v * (double)mult;
    if (total >= 18446744073709551615.0)
        return -1;
    *out = (uint64_t)total;
    return 0;
}

int cli_parse_size(const char *s, uint64_t *out) { return parse_scaled(s, 1024, out); }
int cli_parse_count(const char *s, uint64_t *out) { return parse_scaled(s, 1000, out); }

int cli_parse_int(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_compression(const char *s, rs_store_compression *out)
{
    static const struct { const char *name; rs_store_compression c; } names[] = {
        {"none", RS_STORE_COMPRESSION_NONE},
        {"lz4", RS_STORE_COMPRESSION_LZ4},
        {"zstd", RS_STORE_COMPRESSION_ZSTD},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].c;
            return 0;
        }
    }
    return -1;
}

static int bad(rs_err *err, const char *opt, const char *arg, const char *want)
{
    rs_err_set(err, RS_E_INVALID, "--%s '%s': expected %s", opt, arg, want);
    return -1;
}

static int add_tier(struct cli_store_args *a, const char *arg, rs_err *err)
{
    rs_store_config *cfg = &a->cfg;
    const char *colon = strrchr(arg, ':');
    if (cfg->n_tiers == RS_STORE_MAX_TIERS) {
        rs_err_set(err, RS_E_INVALID, "--tier: at most %d tiers", RS_STORE_MAX_TIERS);
        return -1;
    }
    size_t len = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
    if (len == 0 || len >= PATH_MAX)
        return bad(err, "tier", arg, "PATH:SIZE");
    uint64_t size = 0;
    if (colon != NULL && cli_parse_size(colon + 1, &size) != 0)
        return bad(err, "tier", arg, "PATH:SIZE with a size like 100G");
    memcpy(a->tier_paths[cfg->n_tiers], arg, len);
    a->tier_paths[cfg->n_tiers][len] = '\0';
    cfg->tiers[cfg->n_tiers].path = a->tier_paths[cfg->n_tiers];
    cfg->tiers[cfg->n_tiers].target_bytes = size;
    cfg->n_tiers++;
    return 1;
}

static int common_option(int opt, const char *arg, rs_err *err)
{
    if (opt == CLI_OPT_LOG_LEVEL) {
        rs_log_level level;
        if (rs_log_level_parse(arg, &level) != 0)
            return bad(err, "log-level", arg, "error, warn, info, debug or trace");
        rs_log_set_level(level);
        return 1;
    }
    if (opt == CLI_OPT_LOG_FORMAT) {
        if (strcmp(arg, "text") != 0 && strcmp(arg, "json") != 0)
            return bad(err, "log-format", arg, "text or json");
        rs_log_set_format(strcmp(arg, "json") == 0 ? RS_LOG_JSON : RS_LOG_TEXT);
        return 1;
    }
    return 0;
}

static int store_option(int opt, const char *arg, struct cli_store_args *a, rs_err *err)
{
    rs_store_config *cfg = &a->cfg;
    uint64_t u = 0;
    long l = 0;
    switch (opt) {
    case CLI_OPT_DB: a->db = arg; return 1;
    case CLI_OPT_CREATE: cfg->create_if_missing = 1; return 1;
    case CLI_OPT_SYNC:
        return rs_store_sync_parse(arg, &cfg->sync) == 0 ? 1 : bad(err, "sync", arg, "always, group or none");
    case CLI_OPT_BLOCK_CACHE:
        if (cli_parse_size(arg, &u) != 0 || u == 0)
            return bad(err, "block-cache", arg, "a size like 256M");
        cfg->block_cache_bytes = u;
        return 1;
    case CLI_OPT_WRITE_BUFFER:
        if (cli_parse_size(arg, &u) != 0 || u < 64 * 1024)
            return bad(err, "write-buffer", arg, "a size of at least 64K");
        cfg->write_buffer_bytes = u;
        return 1;
    case CLI_OPT_WRITE_BUFFERS:
        if (cli_parse_int(arg, 2, 64, &l) != 0)
            return bad(err, "write-buffers", arg, "a number from 2 to 64");
        cfg->write_buffer_count = (int)l;
        return 1;
    case CLI_OPT_BLOOM_BITS:
        if (cli_parse_int(arg, 0, 64, &l) != 0)
            return bad(err, "bloom-bits", arg, "a number from 0 to 64");
        cfg->bloom_bits_per_key = l == 0 ? -1 : (int)l;
        return 1;
    case CLI_OPT_COMPRESSION:
        return parse_compression(arg, &cfg->upper_compression) == 0 ? 1
                                                                     : bad(err, "compression", arg, "none, lz4 or zstd");
    case CLI_OPT_BOTTOM_COMPRESSION:
        return parse_compression(arg, &cfg->bottom_compression) == 0
                   ? 1 : bad(err, "bottom-compression", arg, "none, lz4 or zstd");
    case CLI_OPT_ZSTD_LEVEL:
        if (cli_parse_int(arg, 1, 22, &l) != 0)
            return bad(err, "zstd-level", arg, "a level from 1 to 22");
        cfg->zstd_level = (int)l;
        return 1;
    case CLI_OPT_TIER: return add_tier(a, arg, err);
    case CLI_OPT_BACKGROUND_JOBS:
        if (cli_parse_int(arg, 1, 256, &l) != 0)
            return bad(err, "background-jobs", arg, "a number from 1 to 256");
        cfg->background_jobs = (int)l;
        return 1;
    case CLI_OPT_GROUP_COMMIT_US:
        if (cli_parse_int(arg, 0, 1000000, &l) != 0)
            return bad(err, "group-commit-us", arg, "microseconds from 0 to 1000000");
        cfg->group_commit_us = (uint32_t)l;
        return 1;
    case CLI_OPT_WAL_KEEP_SECONDS:
        if (cli_parse_int(arg, 1, 100L * 365 * 86400, &l) != 0)
            return bad(err, "wal-keep-seconds", arg, "a positive number of seconds");
        cfg->wal_keep_seconds = (uint64_t)l;
        return 1;
    case CLI_OPT_WAL_KEEP_BYTES:
        if (cli_parse_size(arg, &u) != 0 || u < 1024 * 1024)
            return bad(err, "wal-keep-bytes", arg, "a size of at least 1M");
        cfg->wal_keep_bytes = u;
        return 1;
    default: return 0;
    }
}

int cli_option(int opt, const char *arg, struct cli_store_args *store, rs_err *err)
{
    int r = common_option(opt, arg, err);
    if (r != 0 || store == NULL)
        return r;
    return store_option(opt, arg, store, err);
}

rs_code cli_usage_error(const struct cli_cmd *cmd, rs_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rs_err_vset(err, RS_E_INVALID, fmt, ap);
    va_end(ap);
    rs_err_prefix(err, "%s", cmd->name);
    rs_err_hint(err, "run 'rockstream help <command>' for its options");
    return RS_E_INVALID;
}

rs_code cli_parse_args(const struct cli_cmd *cmd, int argc, char **argv, const struct option *longopts,
                       struct cli_store_args *store, cli_own_option_fn own, void *ctx, int *help_shown,
                       rs_err *err)
{
    int opt;
    *help_shown = 0;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            cli_print_help(stdout, cmd);
            *help_shown = 1;
            return RS_OK;
        }
        if (opt == '?' || opt == ':') {
            const char *bad_arg = argv[optind - 1];
            return cli_usage_error(cmd, err, "unknown option or missing value in '%s'", bad_arg);
        }
        int r = cli_option(opt, optarg, store, err);
        if (r < 0) {
            rs_err_hint(err, "run 'rockstream help <command>' for its options");
            return RS_E_INVALID;
        }
        if (r > 0)
            continue;
        rs_code rc = own != NULL ? own(opt, optarg, ctx, err) : RS_E_INVALID;
        if (rc != RS_OK)
            return err != NULL && err->code != RS_OK ? err->code
                                                     : cli_usage_error(cmd, err, "unexpected option '%s'", argv[optind - 1]);
    }
    return RS_OK;
}

rs_code cli_store_open(struct cli_store_args *a, rs_store **out, rs_err *err)
{
    if (a->db == NULL)
        return rs_err_set(err, RS_E_INVALID, "no database given: pass --db DIR");
    return rs_store_open(a->db, &a->cfg, out, err);
}
