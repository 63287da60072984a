/*
 * rockstream follow: a warm standby. It follows a primary's replication
 * port (bootstrapping an empty --db from the primary's checkpoint), serves
 * reads over the Redis protocol, answers writes with -READONLY, and
 * becomes a primary on REPLICAOF NO ONE.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

enum {
    OPT_PRIMARY = CLI_OPT_LAST_SHARED,
    OPT_ALLOW_DISCARD,
    OPT_NAME,
};

static const struct option follow_longopts[] = {
    CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS, CLI_DAEMON_LONGOPTS,
    {"primary", required_argument, NULL, OPT_PRIMARY},
    {"allow-discard", no_argument, NULL, OPT_ALLOW_DISCARD},
    {"name", required_argument, NULL, OPT_NAME},
    {0},
};

static rs_code follow_option(int opt, const char *arg, void *ctx, rs_err *err)
{
    struct cli_daemon_args *a = ctx;
    rs_code rc = cli_daemon_option(opt, arg, a, err);
    if (rc != RS_E_NOTFOUND)
        return rc;
    switch (opt) {
    case OPT_PRIMARY: a->server.primary = arg; return RS_OK;
    case OPT_ALLOW_DISCARD: a->server.allow_discard = 1; return RS_OK;
    case OPT_NAME: a->server.name = arg; return RS_OK;
    }
    return RS_E_INVALID;
}

static int follow_main(int argc, char **argv, rs_err *err)
{
    struct cli_daemon_args a = {.on_command_line = 1};
    int help_shown = 0;
    rs_code rc = cli_parse_args(&cli_cmd_follow, argc, argv, follow_longopts, &a.store, follow_option, &a,
                                &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    if (optind < argc)
        return cli_usage_error(&cli_cmd_follow, err, "unexpected argument '%s'", argv[optind]);
    if (a.store.db == NULL || a.server.primary == NULL || a.repl_key_file == NULL)
        return cli_usage_error(&cli_cmd_follow, err, "--db, --primary and --repl-key are required");
    return cli_daemon_run(&a, err);
}

const struct cli_cmd cli_cmd_follow = {
    .name = "follow",
    .summary = "follow a primary as a warm standby, serving reads",
    .usage = "follow --db DIR --primary HOST:PORT --repl-key FILE [--listen HOST:PORT] [options]",
    .help = "\nApplies every batch the primary commits, in order, so the database here\n"
            "equals the primary's, batch for batch. An empty or absent --db is first\n"
            "sent a checkpoint of the primary. Reads are served over the Redis protocol;\n"
            "writes get -READONLY. REPLICAOF NO ONE promotes it: it takes a new history\n"
            "and accepts writes (and followers, with --repl-listen). A primary that\n"
            "refuses it (wrong key, another database, a diverged history) stops it with\n"
            "the reason. docs/replication.md.\n\n"
            "  --primary HOST:PORT    the primary's replication address (--repl-listen)\n"
            "  --repl-key FILE        the pre-shared key the primary uses\n"
            "  --listen HOST:PORT     serve reads here (127.0.0.1:6379); port 0 picks one\n"
            "  --port-file FILE       write the address actually bound to FILE (and\n"
            "                         the TLS one on a second line)\n"
            "  --repl-encrypt         ask for an encrypted session\n"
            "  --repl-listen HOST:PORT  once promoted, accept followers here\n"
            "  --resync-rate SIZE     once promoted, checkpoint transfers per second (100M)\n"
            "  --allow-discard        rebuild a database the primary refuses as diverged\n"
            "                         (it may hold writes the primary never had)\n"
            "  --name NAME            how the primary lists it (the host name)\n\n"
            CLI_DAEMON_SECURITY_HELP,
    .example = "rockstream follow --db /tmp/standby --primary 127.0.0.1:7380 --repl-key repl.key \\\n"
               "    --listen 127.0.0.1:6381 &\n  redis-cli -p 6381 get greeting",
    .uses_store = 1,
    .run = follow_main,
};
