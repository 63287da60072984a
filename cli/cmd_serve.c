/*
 * rockstream serve: opens a database and serves it over the Redis protocol
 * (server/server.h) until SIGTERM or SIGINT. This file is the command:
 * its options and config file; cli_daemon.c starts the server.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

enum {
    OPT_CONFIG = CLI_OPT_LAST_SHARED,
    OPT_MAX_CLIENTS,
    OPT_MAX_BULK,
    OPT_MAX_ARGS,
    OPT_MAX_REQUEST,
    OPT_MAX_OUTPUT,
    OPT_IDLE_TIMEOUT,
    OPT_SHUTDOWN_TIMEOUT,
    OPT_READ_ONLY,
    OPT_KEY,
    OPT_PASSPHRASE,
    OPT_SNAPSHOT_DIR,
};

static const struct option serve_longopts[] = {
    CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS, CLI_DAEMON_LONGOPTS,
    {"config", required_argument, NULL, OPT_CONFIG},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"max-bulk", required_argument, NULL, OPT_MAX_BULK},
    {"max-args", required_argument, NULL, OPT_MAX_ARGS},
    {"max-request", required_argument, NULL, OPT_MAX_REQUEST},
    {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"key", required_argument, NULL, OPT_KEY},
    {"passphrase", no_argument, NULL, OPT_PASSPHRASE},
    {"snapshot-dir", required_argument, NULL, OPT_SNAPSHOT_DIR},
    {0},
};

static rs_code bad(rs_err *err, const char *opt, const char *arg, const char *want)
{
    return rs_err_set(err, RS_E_INVALID, "--%s '%s': expected %s", opt, arg, want);
}

static rs_code size_opt(const char *opt, const char *arg, uint64_t min, uint64_t *out, rs_err *err)
{
    if (cli_parse_size(arg, out) != 0 || *out < min)
        return bad(err, opt, arg, min > 1 ? "a size of at least 1K, like 64M" : "a size like 64M");
    return RS_OK;
}

static rs_code count_opt(const char *opt, const char *arg, uint64_t max, uint64_t *out, rs_err *err)
{
    if (cli_parse_count(arg, out) != 0 || *out == 0 || *out > max)
        return bad(err, opt, arg, "a positive number");
    return RS_OK;
}

static rs_code serve_option(int opt, const char *arg, void *ctx, rs_err *err)
{
    struct cli_daemon_args *a = ctx;
    rs_server_config *s = &a->server;
    rs_code rc = cli_daemon_option(opt, arg, a, err);
    if (rc != RS_E_NOTFOUND)
        return rc;
    long l = 0;
    switch (opt) {
    case OPT_KEY: a->key.key_file = arg; return RS_OK;
    case OPT_PASSPHRASE: a->key.passphrase = 1; return RS_OK;
    case OPT_SNAPSHOT_DIR: s->snapshot_dir = arg; return RS_OK;
    case OPT_CONFIG: return RS_OK; /* read before the flags, see parse */
    case OPT_READ_ONLY: s->read_only = 1; return RS_OK;
    case OPT_MAX_CLIENTS: return count_opt("max-clients", arg, 1000000, &s->max_clients, err);
    case OPT_MAX_ARGS: return count_opt("max-args", arg, 1ull << 30, &s->max_args, err);
    case OPT_MAX_BULK: return size_opt("max-bulk", arg, 1024, &s->max_bulk, err);
    case OPT_MAX_REQUEST: return size_opt("max-request", arg, 1024, &s->max_request, err);
    case OPT_MAX_OUTPUT: return size_opt("max-output", arg, 1024, &s->max_output, err);
    case OPT_IDLE_TIMEOUT:
        if (cli_parse_int(arg, 0, 100L * 365 * 86400, &l) != 0)
            return bad(err, "idle-timeout", arg, "seconds, 0 for never");
        s->idle_timeout_s = (uint64_t)l;
        return RS_OK;
    case OPT_SHUTDOWN_TIMEOUT:
        if (cli_parse_int(arg, 1, 86400, &l) != 0)
            return bad(err, "shutdown-timeout", arg, "seconds from 1 to 86400");
        s->shutdown_timeout_s = (uint64_t)l;
        return RS_OK;
    }
    return RS_E_INVALID;
}

/* The config file first, then the flags, which win. */
static rs_code parse(int argc, char **argv, struct cli_daemon_args *a, struct cli_config *cfg, int *help_shown,
                     rs_err *err)
{
    const char *path = cli_config_path(argc, argv);
    rs_code rc = RS_OK;
    if (path != NULL)
        rc = cli_config_load(path, &cli_cmd_serve, serve_longopts, &a->store, serve_option, a, cfg, err);
    a->on_command_line = 1;
    if (rc == RS_OK)
        rc = cli_parse_args(&cli_cmd_serve, argc, argv, serve_longopts, &a->store, serve_option, a, help_shown,
                            err);
    if (rc != RS_OK || *help_shown)
        return rc;
    if (optind < argc)
        return cli_usage_error(&cli_cmd_serve, err, "unexpected argument '%s'", argv[optind]);
    a->config_path = cfg->path;
    a->server.config_file = cfg->path;
    return RS_OK;
}

static int serve_main(int argc, char **argv, rs_err *err)
{
    struct cli_daemon_args a = {0};
    struct cli_config cfg = {0};
    int help_shown = 0;
    rs_code rc = parse(argc, argv, &a, &cfg, &help_shown, err);
    if (rc == RS_OK && !help_shown)
        rc = cli_daemon_run(&a, err);
    cli_config_release(&cfg);
    return rc;
}

const struct cli_cmd cli_cmd_serve = {
    .name = "serve",
    .summary = "serve a database over the Redis protocol (RESP2)",
    .usage = "serve --db DIR [--listen HOST:PORT] [--config FILE] [options]",
    .help = "\nServes the database to any Redis client (redis-cli, redis-benchmark, client\n"
            "libraries) until SIGTERM or SIGINT, then stops accepting, sends the replies\n"
            "still owed, closes the database and exits 0. A write is answered only once\n"
            "it is as durable as --sync says. Commands, limits and config keys:\n"
            "docs/server.md.\n\n"
            "  --listen HOST:PORT     where to listen (127.0.0.1:6379); [::1]:PORT for\n"
            "                         IPv6; port 0 picks a free port\n"
            "  --port-file FILE       write the address actually bound to FILE (and\n"
            "                         the TLS one on a second line)\n"
            "  --config FILE          read options from an INI file: each key is an\n"
            "                         option's long name (listen = 127.0.0.1:6379);\n"
            "                         flags given on the command line win\n"
            "  --read-only            answer writes with -READONLY\n"
            "  --max-clients N        connections beyond N are refused (10000)\n"
            "  --max-bulk SIZE        longest key or value (512M)\n"
            "  --max-args N           most arguments in one request (1M)\n"
            "  --max-request SIZE     most bytes in one request (1G)\n"
            "  --max-output SIZE      a client with more unsent replies than this is\n"
            "                         disconnected when it sends another request (64M)\n"
            "  --idle-timeout SECS    close clients idle this long, 0 never (0)\n"
            "  --shutdown-timeout SECS  how long a shutdown waits for replies (10)\n\n"
            "Replication (docs/replication.md):\n"
            "  --repl-listen HOST:PORT  accept followers here\n"
            "  --repl-key FILE        the pre-shared key (rockstream keygen --repl)\n"
            "  --repl-encrypt         accept only encrypted sessions\n"
            "  --resync-rate SIZE     checkpoint transfers at most SIZE a second (100M)\n"
            "WAIT n ms waits for n followers; REPLICAOF host port follows a primary.\n\n"
            "SNAPSHOT NAME seals the database into an encrypted archive and its\n"
            "manifest (docs/snapshot.md) with the key given here; without one it is\n"
            "refused. A key that is missing, unreadable or readable by others stops\n"
            "serve from starting. A public key (keygen --public, the .pub file) is the\n"
            "safest: this host can then seal archives but never read them.\n"
            "  --snapshot-dir DIR     SNAPSHOT writes only inside DIR (a name relative\n"
            "                         to it, or an absolute path in it); without it,\n"
            "                         only absolute paths in the database's parent\n"
            "                         directory\n"
            CLI_KEY_OPTIONS_HELP "\n" CLI_DAEMON_SECURITY_HELP,
    .example = "rockstream serve --db /tmp/demo --create --listen 127.0.0.1:6380 &\n"
               "  redis-cli -p 6380 set greeting hello && redis-cli -p 6380 get greeting",
    .uses_store = 1,
    .run = serve_main,
};
