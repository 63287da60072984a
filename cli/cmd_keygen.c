/*
 * rockstream keygen: make a new key file. Each kind of key is one row of
 * the table below (a flag, what keygen makes, how it is described), so a
 * later kind (replication keys) adds a row and a flag.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "wal/wal.h"

enum { OPT_OUT = CLI_OPT_LAST_SHARED, OPT_PUBLIC, OPT_REPL };

struct keygen_kind {
    int         opt;       /* the flag that selects it; 0: the default */
    rs_snapshot_key_kind kind;
    const char *made;      /* printed after success */
    int         repl;      /* a replication key (wal/), not an archive key */
};

static const struct keygen_kind kinds[] = {
    {0, RS_SNAPSHOT_KEY_SECRET, "secret key", 0},
    {OPT_PUBLIC, RS_SNAPSHOT_KEY_PAIR, "key pair", 0},
    {OPT_REPL, RS_SNAPSHOT_KEY_SECRET, "replication key", 1},
};

struct keygen_args {
    const char *out;
    const struct keygen_kind *kind;
};

static rs_code keygen_option(int opt, const char *arg, void *ctx, rs_err *err)
{
    struct keygen_args *a = ctx;
    if (opt == OPT_OUT) {
        a->out = arg;
        return RS_OK;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (kinds[i].opt == opt && opt != 0) {
            if (a->kind != &kinds[0] && a->kind != &kinds[i])
                return rs_err_set(err, RS_E_INVALID, "keygen: choose one kind of key");
            a->kind = &kinds[i];
            return RS_OK;
        }
    }
    return RS_E_INVALID;
}

static const struct option keygen_longopts[] = {
    CLI_COMMON_LONGOPTS,
    {"out", required_argument, NULL, OPT_OUT},
    {"public", no_argument, NULL, OPT_PUBLIC},
    {"repl", no_argument, NULL, OPT_REPL},
    {0},
};

static int keygen_main(int argc, char **argv, rs_err *err)
{
    struct keygen_args a = {.kind = &kinds[0]};
    int help_shown = 0;
    rs_code rc = cli_parse_args(&cli_cmd_keygen, argc, argv, keygen_longopts, NULL, keygen_option, &a, &help_shown,
                                err);
    if (rc != RS_OK || help_shown)
        return rc;
    if (a.out == NULL || optind != argc)
        return cli_usage_error(&cli_cmd_keygen, err, "expected %s", cli_cmd_keygen.usage);
    if (a.kind->repl) {
        if ((rc = rs_wal_key_create_file(a.out, err)) == RS_OK)
            printf("wrote %s %s (mode 0600): give it to the primary and its followers\n", a.kind->made, a.out);
        return rc;
    }
    char id[17];
    if ((rc = rs_snapshot_keygen(a.out, a.kind->kind, id, err)) != RS_OK)
        return rc;
    if (a.kind->kind == RS_SNAPSHOT_KEY_PAIR)
        printf("wrote key pair %s (seals and unseals; keep it private) and public key %s.pub (seals only), "
               "key id %s\n", a.out, a.out, id);
    else
        printf("wrote %s %s (mode 0600), key id %s\n", a.kind->made, a.out, id);
    return RS_OK;
}

const struct cli_cmd cli_cmd_keygen = {
    .name = "keygen",
    .summary = "make a new key for sealing archives, or for replication (--repl)",
    .usage = "keygen --out FILE [--public | --repl]",
    .help = "\nWrites a new random key to FILE with mode 0600. It never replaces an\n"
            "existing file. Whoever holds the file can open every archive sealed with\n"
            "it: keep it private, and keep a copy apart from the backups (docs/keys.md).\n\n"
            "  --out FILE             where to write the key\n"
            "  --public               write a key pair to FILE and its public half to\n"
            "                         FILE.pub: a host holding only FILE.pub can seal\n"
            "                         archives but never open them\n"
            "  --repl                 write a replication key instead: the pre-shared key\n"
            "                         a primary and its followers authenticate with\n"
            "                         (serve/follow --repl-key, docs/replication.md)\n",
    .example = "rockstream keygen --out /etc/rockstream/backup.key",
    .uses_store = 0,
    .run = keygen_main,
};
