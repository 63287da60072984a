/*
 * rockstream serve: opens a database and serves it over the Redis protocol
 * (server*.c) until SIGTERM or SIGINT. This file is the command: options
 * and config file, file-descriptor limits, signals, and the order of
 * startup and shutdown.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "cli/repl.h"
#include "cli/server.h"
#include "common/log.h"

enum {
    OPT_LISTEN = CLI_OPT_LAST_SHARED,
    OPT_PORT_FILE,
    OPT_CONFIG,
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
    OPT_REPL_LISTEN,
    OPT_REPL_KEY,
    OPT_REPL_ENCRYPT,
    OPT_RESYNC_RATE,
};

static const struct option serve_longopts[] = {
    CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS,
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
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
    {"repl-listen", required_argument, NULL, OPT_REPL_LISTEN},
    {"repl-key", required_argument, NULL, OPT_REPL_KEY},
    {"repl-encrypt", no_argument, NULL, OPT_REPL_ENCRYPT},
    {"resync-rate", required_argument, NULL, OPT_RESYNC_RATE},
    {0},
};

struct serve_args {
    struct cli_store_args store;
    struct server_config server;
    struct cli_key_args key;   /* what SNAPSHOT seals with */
    struct repl_config repl;
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
    struct serve_args *a = ctx;
    struct server_config *s = &a->server;
    rs_code rc = cli_repl_option(opt - OPT_REPL_LISTEN, arg, &a->repl, err);
    if (rc != RS_E_NOTFOUND)
        return rc;
    long l = 0;
    switch (opt) {
    case OPT_KEY: a->key.key_file = arg; return RS_OK;
    case OPT_PASSPHRASE: a->key.passphrase = 1; return RS_OK;
    case OPT_LISTEN: s->listen = arg; return RS_OK;
    case OPT_PORT_FILE: s->port_file = arg; return RS_OK;
    case OPT_CONFIG: return RS_OK; /* read before the flags, see serve_main */
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

/* ---- signals ---------------------------------------------------------- */

static struct server *_Atomic running;
static volatile sig_atomic_t stop_asked;

static void on_signal(int sig)
{
    (void)sig;
    stop_asked = 1;
    struct server *srv = running;
    if (srv != NULL)
        server_stop(srv); /* an atomic store and an eventfd write: signal safe */
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* a client that hangs up must not kill the server: send() returns EPIPE */
    signal(SIGPIPE, SIG_IGN);
}

/* Each client is a file descriptor: lift the soft limit toward the hard one
 * so that max-clients connections fit (1024 is a common default). */
static void raise_fd_limit(uint64_t max_clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)max_clients + 128; /* + RocksDB's files, listener, ... */
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        RS_LOG_WARN("serve: open files limited to %llu, fewer than max-clients=%llu needs; raise 'ulimit -Hn'",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)max_clients);
}

/* ---- the command ------------------------------------------------------ */

static rs_code parse(int argc, char **argv, struct serve_args *a, struct cli_config *cfg, int *help_shown,
                     rs_err *err)
{
    const char *path = cli_config_path(argc, argv);
    rs_code rc = RS_OK;
    if (path != NULL)
        rc = cli_config_load(path, &cli_cmd_serve, serve_longopts, &a->store, serve_option, a, cfg, err);
    if (rc == RS_OK)
        rc = cli_parse_args(&cli_cmd_serve, argc, argv, serve_longopts, &a->store, serve_option, a, help_shown,
                            err);
    if (rc != RS_OK || *help_shown)
        return rc;
    if (optind < argc)
        return cli_usage_error(&cli_cmd_serve, err, "unexpected argument '%s'", argv[optind]);
    a->server.config_file = cfg->path;
    server_config_resolve(&a->server);
    if (a->server.max_request < a->server.max_bulk)
        return rs_err_set(err, RS_E_INVALID, "max-request (%llu) is smaller than max-bulk (%llu)",
                          (unsigned long long)a->server.max_request, (unsigned long long)a->server.max_bulk);
    return RS_OK;
}

/* The snapshot key, when one is configured. Fail closed: a key that is
 * asked for but missing, unreadable or too open stops the daemon from
 * starting, rather than leaving a server that would fail (or, worse, be
 * "fixed" to seal without it) at the first SNAPSHOT. */
static rs_code load_snapshot_key(const struct cli_key_args *k, rs_snapshot_key **out, rs_err *err)
{
    if (k == NULL || (k->key_file == NULL && !k->passphrase))
        return RS_OK; /* SNAPSHOT will refuse, saying why */
    rs_code rc = cli_key_load(k, 1, out, err); /* it seals: a typo would make archives nobody opens */
    if (rc != RS_OK) {
        rs_err_prefix(err, "snapshot key");
        return rc;
    }
    RS_LOG_INFO("serve: snapshots sealed with %s id=%s", cli_key_describe(*out), rs_snapshot_key_id(*out));
    return RS_OK;
}

rs_code cli_daemon_run(struct cli_store_args *st, struct server_config *scfg, const struct repl_config *rcfg,
                       const struct cli_key_args *key_args, rs_err *err)
{
    install_signals();
    raise_fd_limit(scfg->max_clients);
    rs_snapshot_key *key = NULL;
    rs_code rc = load_snapshot_key(key_args, &key, err);
    if (rc != RS_OK)
        return rc;
    rs_snapshot_sweep(st->db, NULL); /* what a crash mid-SNAPSHOT left */
    scfg->snapshot_key = key;
    struct repl r;
    rc = repl_init(&r, rcfg, st->db, &st->cfg, err);
    if (rc != RS_OK) {
        rs_snapshot_key_destroy(key);
        return rc;
    }
    rs_store *store = NULL;
    /* a follower opens (or bootstraps) its database itself, as a replica */
    if (rcfg->primary == NULL)
        rc = cli_store_open(st, &store, err);
    /* the replication loop runs the server, and restarts it when the role
     * changes (REPLICAOF) or a resync replaces the database */
    if (rc == RS_OK)
        rc = repl_run(&r, store, scfg, &running, &stop_asked, err);
    else
        repl_release(&r);
    rs_snapshot_key_destroy(key);
    scfg->snapshot_key = NULL;
    if (rc == RS_OK)
        RS_LOG_INFO("serve: stopped");
    return rc;
}

static int serve_main(int argc, char **argv, rs_err *err)
{
    struct serve_args a = {0};
    struct cli_config cfg = {0};
    int help_shown = 0;
    rs_code rc = parse(argc, argv, &a, &cfg, &help_shown, err);
    if (rc == RS_OK && !help_shown)
        rc = cli_daemon_run(&a.store, &a.server, &a.repl, &a.key, err);
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
            "  --port-file FILE       write the address actually bound to FILE\n"
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
            "SNAPSHOT /path/on/this/host seals the database into an encrypted archive\n"
            "and its manifest (docs/snapshot.md) with the key given here; without one\n"
            "it is refused. A key that is missing, unreadable or readable by others\n"
            "stops serve from starting. A public key (keygen --public, the .pub file)\n"
            "is the safest: this host can then seal archives but never read them.\n\n"
            CLI_KEY_OPTIONS_HELP,
    .example = "rockstream serve --db /tmp/demo --create --listen 127.0.0.1:6380 &\n"
               "  redis-cli -p 6380 set greeting hello && redis-cli -p 6380 get greeting",
    .uses_store = 1,
    .run = serve_main,
};
