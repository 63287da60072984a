/*
 * rockstream versions | rollback | prune-state: the versioned state of a
 * database no server has open (versions reads one that a server holds,
 * too). The pruning policy options are shared with any command that opens
 * a versioned database for writing (cli_prune_option).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "cli/cli.h"

enum { OPT_TO = CLI_OPT_LAST_SHARED, OPT_KEPT };

int cli_prune_option(int opt, const char *arg, rs_store_prune_policy *p, rs_err *err)
{
    uint64_t *field = NULL;
    const char *name = NULL;
    switch (opt) {
    case CLI_OPT_PRUNING:
        if (rs_store_prune_mode_parse(arg, &p->mode) != 0) {
            rs_err_set(err, RS_E_INVALID, "--pruning '%s': expected nothing, everything, default or custom", arg);
            return -1;
        }
        return 1;
    case CLI_OPT_KEEP_RECENT: field = &p->keep_recent; name = "keep-recent"; break;
    case CLI_OPT_KEEP_EVERY: field = &p->keep_every; name = "keep-every"; break;
    case CLI_OPT_PRUNE_INTERVAL: field = &p->interval; name = "interval"; break;
    default: return 0;
    }
    if (cli_parse_count(arg, field) != 0) {
        rs_err_set(err, RS_E_INVALID, "--%s '%s': expected a number of versions", name, arg);
        return -1;
    }
    if (p->mode == RS_STORE_PRUNE_RECORDED)
        p->mode = RS_STORE_PRUNE_CUSTOM; /* numbers alone mean custom */
    return 1;
}

static void print_policy(FILE *f, const rs_store_prune_policy *p)
{
    fprintf(f, "pruning: %s", rs_store_prune_mode_name(p->mode));
    if (p->mode != RS_STORE_PRUNE_NOTHING)
        fprintf(f, " (keep-recent %" PRIu64 ", keep-every %" PRIu64 ", interval %" PRIu64 ")", p->keep_recent,
                p->keep_every, p->interval);
    fputc('\n', f);
}

struct ver_args {
    struct cli_store_args store;
    uint64_t              to;
    int                   to_set;
    int                   list_kept;
};

static rs_code ver_option(int opt, const char *arg, void *ctx, rs_err *err)
{
    struct ver_args *a = ctx;
    switch (opt) {
    case OPT_KEPT: a->list_kept = 1; return RS_OK;
    case OPT_TO:
        if (cli_parse_count(arg, &a->to) != 0)
            return rs_err_set(err, RS_E_INVALID, "--to '%s': expected a version number", arg);
        a->to_set = 1;
        return RS_OK;
    }
    return cli_prune_option(opt, arg, &a->store.cfg.prune, err) > 0 ? RS_OK : RS_E_INVALID;
}

/* Each command takes only the options that mean something to it. */
static const struct option versions_longopts[] = {
    CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS,
    {"kept", no_argument, NULL, OPT_KEPT},
    {0},
};

static const struct option rollback_longopts[] = {
    CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS,
    {"to", required_argument, NULL, OPT_TO},
    {0},
};

static const struct option prune_longopts[] = {
    CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS, CLI_PRUNE_LONGOPTS,
    {0},
};

static rs_code ver_begin(const struct cli_cmd *cmd, const struct option *longopts, int argc, char **argv,
                         struct ver_args *a, rs_store **store, int *help_shown, rs_err *err)
{
    rs_code rc = cli_parse_args(cmd, argc, argv, longopts, &a->store, ver_option, a, help_shown, err);
    if (rc != RS_OK || *help_shown)
        return rc;
    if (optind < argc)
        return cli_usage_error(cmd, err, "unexpected argument '%s'", argv[optind]);
    return cli_store_open(&a->store, store, err);
}

/* ---- versions ------------------------------------------------------- */

static int print_kept(void *arg, uint64_t version)
{
    uint64_t *n = arg;
    printf("kept: %" PRIu64 "\n", version);
    (*n)++;
    return 0;
}

static int count_kept(void *arg, uint64_t version)
{
    (void)version;
    (*(uint64_t *)arg)++;
    return 0;
}

static rs_code print_versions(rs_store *store, int list_kept, rs_err *err)
{
    uint64_t earliest = 0, latest = 0, n_kept = 0;
    rs_code rc = rs_store_version_range(store, &earliest, &latest, err);
    if (rc != RS_OK)
        return rc;
    printf("database: %s\n", rs_store_path(store));
    printf("latest: %" PRIu64 "\n", latest);
    printf("earliest: %" PRIu64 "\n", earliest);
    if (latest == 0)
        printf("readable: none (no version committed)\n");
    else
        printf("readable: [%" PRIu64 ", %" PRIu64 "]\n", earliest, latest);
    rc = rs_store_version_kept_scan(store, list_kept ? print_kept : count_kept, &n_kept, err);
    if (rc != RS_OK)
        return rc;
    printf("kept_below_earliest: %" PRIu64 "\n", n_kept);
    rs_store_prune_policy p;
    rs_store_prune_policy_get(store, &p);
    print_policy(stdout, &p);
    if (latest == 0)
        return RS_OK;
    rs_store_version_info info;
    if ((rc = rs_store_version_info_get(store, latest, &info, err)) != RS_OK)
        return rc;
    printf("latest_commit_seq: %" PRIu64 "\n", info.commit_seq);
    printf("latest_writes: %" PRIu32 "\n", info.n_writes);
    printf("latest_digest: ");
    cli_write_hex(stdout, info.digest, sizeof info.digest);
    rs_store_stats st;
    if ((rc = rs_store_stats_get(store, &st, err)) == RS_OK)
        printf("\nhistory_sst_bytes: %" PRIu64 "\n", st.history_sst_bytes);
    return rc;
}

/* versions opens read-only: a look, never a write, so it works beside a
 * server too. migrate opens for writing, which converts an older layout
 * of versioned state (store_migrate.c, its progress on stderr). */
static int show_versions(const struct cli_cmd *cmd, int argc, char **argv, rs_err *err)
{
    struct ver_args a = {0};
    a.store.cfg.read_only = cmd == &cli_cmd_versions;
    rs_store *store = NULL;
    int help_shown = 0;
    rs_code rc = ver_begin(cmd, versions_longopts, argc, argv, &a, &store, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    rc = print_versions(store, a.list_kept, err);
    if (rc == RS_OK && cmd == &cli_cmd_migrate)
        printf("layout: 2 (the current one)\n");
    rs_store_close(store);
    return rc;
}

static int versions_main(int argc, char **argv, rs_err *err)
{
    return show_versions(&cli_cmd_versions, argc, argv, err);
}

const struct cli_cmd cli_cmd_versions = {
    .name = "versions",
    .summary = "show a database's versioned state: readable range, policy",
    .usage = "versions --db DIR [--kept]",
    .help = "\nPrints the latest committed version, the earliest readable one, the\n"
            "readable range, how many older versions keep-every kept, the pruning\n"
            "policy, and the latest version's commit sequence and digest. Opens the\n"
            "database read-only, so it also works on one a server holds.\n\n"
            "  --kept                 list the versions keep-every kept\n",
    .example = "rockstream versions --db /tmp/chain",
    .uses_store = 1,
    .run = versions_main,
};

/* ---- rollback ------------------------------------------------------- */

static int rollback_main(int argc, char **argv, rs_err *err)
{
    struct ver_args a = {0};
    rs_store *store = NULL;
    int help_shown = 0;
    rs_code rc = cli_parse_args(&cli_cmd_rollback, argc, argv, rollback_longopts, &a.store, ver_option, &a,
                                &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    if (!a.to_set)
        return cli_usage_error(&cli_cmd_rollback, err, "which version? pass --to H");
    if (optind < argc)
        return cli_usage_error(&cli_cmd_rollback, err, "unexpected argument '%s'", argv[optind]);
    if ((rc = cli_store_open(&a.store, &store, err)) != RS_OK)
        return rc;
    uint64_t from = rs_store_version_latest(store), earliest = 0, latest = 0;
    rc = rs_store_rollback(store, a.to, err);
    if (rc == RS_OK)
        rc = rs_store_version_range(store, &earliest, &latest, err);
    if (rc == RS_OK && from == a.to)
        printf("already at version %" PRIu64 "; nothing to roll back\n", a.to);
    else if (rc == RS_OK)
        printf("rolled back from version %" PRIu64 " to %" PRIu64 "; readable versions are [%" PRIu64 ", %" PRIu64
               "]\n",
               from, a.to, earliest, latest);
    rs_store_close(store);
    return rc;
}

const struct cli_cmd cli_cmd_rollback = {
    .name = "rollback",
    .summary = "restore the state as of an earlier version",
    .usage = "rollback --db DIR --to H",
    .help = "\nRestores the state as of version H in one atomic write and forgets the\n"
            "versions after it (a chain reorganisation); the next commit is H+1. H\n"
            "must be in the readable range (rockstream versions shows it).\n\n"
            "  --to H                 the version to return to\n",
    .example = "rockstream rollback --db /tmp/chain --to 90",
    .uses_store = 1,
    .run = rollback_main,
};

/* ---- prune-state ---------------------------------------------------- */

static int prune_main(int argc, char **argv, rs_err *err)
{
    struct ver_args a = {0};
    rs_store *store = NULL;
    int help_shown = 0;
    rs_code rc = ver_begin(&cli_cmd_prune_state, prune_longopts, argc, argv, &a, &store, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    rs_store_prune_result res;
    rs_store_prune_policy p;
    rs_store_prune_policy_get(store, &p);
    rc = rs_store_prune(store, &res, err);
    if (rc == RS_OK) {
        print_policy(stdout, &p);
        if (res.versions_pruned == 0 && res.earliest_after == res.earliest_before)
            printf("nothing to prune; earliest stays %" PRIu64 "\n", res.earliest_after);
        else
            printf("pruned %" PRIu64 " versions: earliest %" PRIu64 " -> %" PRIu64 "\n", res.versions_pruned,
                   res.earliest_before, res.earliest_after);
        printf("kept_entries: %" PRIu64 "\nreclaimed_bytes: %" PRIu64 "\nelapsed_ms: %" PRIu64 "\n",
               res.kept_entries, res.reclaimed_bytes, res.elapsed_ns / 1000000u);
    }
    rs_store_close(store);
    return rc;
}

const struct cli_cmd cli_cmd_prune_state = {
    .name = "prune-state",
    .summary = "prune versioned history now, by a policy",
    .usage = "prune-state --db DIR [--pruning POLICY] [--keep-recent N] [--keep-every M] [--interval I]",
    .help = "\nMoves the earliest readable version as far as the policy allows (any\n"
            "interval), compacts the history so the space comes back, and records the\n"
            "policy: later opens that name none keep pruning this way.\n\n"
            "  --pruning POLICY       nothing, everything, default or custom\n"
            "  --keep-recent N        keep the latest version and N before it\n"
            "  --keep-every M         and every version that is a multiple of M\n"
            "  --interval I           prune when a committed version is a multiple of I\n",
    .example = "rockstream prune-state --db /tmp/chain --keep-recent 100 --interval 10",
    .uses_store = 1,
    .run = prune_main,
};

/* ---- migrate -------------------------------------------------------- */

static int migrate_main(int argc, char **argv, rs_err *err)
{
    return show_versions(&cli_cmd_migrate, argc, argv, err);
}

const struct cli_cmd cli_cmd_migrate = {
    .name = "migrate",
    .summary = "convert a database's versioned state to the current layout",
    .usage = "migrate --db DIR [--kept]",
    .help = "\nConverts versioned state written by an older rockstream (layout 1: the\n"
            "values each version overwrote, in rs_history) to the current layout,\n"
            "then prints what `versions` prints. Any open for writing (serve, follow,\n"
            "a program that embeds the library) converts the same way; read-only\n"
            "opens refuse an unconverted database. The conversion shows its progress\n"
            "on stderr, is crash-safe and resumes where it stopped (kill it, run it\n"
            "again); a follower of a converted primary is resynced.\n\n"
            "  --kept                 list the versions keep-every kept\n",
    .example = "rockstream migrate --db /tmp/chain",
    .uses_store = 1,
    .run = migrate_main,
};
