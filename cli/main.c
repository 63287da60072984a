/*
 * rockstream: the program. Finds the command, runs it, and prints its error
 * (and a hint) in one place. The exit status is the rs_code, so scripts can
 * tell "not found" (4) from "corrupt" (6) from "busy" (12).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"

static const struct cli_cmd *const commands[] = {
    &cli_cmd_load, &cli_cmd_stat, &cli_cmd_get, &cli_cmd_put, &cli_cmd_del, &cli_cmd_scan,
    &cli_cmd_snapshot, &cli_cmd_unseal, &cli_cmd_keygen,
    &cli_cmd_serve,
    &cli_cmd_versions, &cli_cmd_rollback, &cli_cmd_prune_state, &cli_cmd_migrate,
    &cli_cmd_follow,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct cli_cmd *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

void cli_print_help(FILE *f, const struct cli_cmd *cmd)
{
    fprintf(f, "usage: rockstream %s\n\n%s.\n%s\n", cmd->usage, cmd->summary, cmd->help);
    if (cmd->uses_store)
        fprintf(f, "%s\n", cli_store_options_help);
    fprintf(f, "Common options:\n%s", cli_common_options_help);
    if (cmd->example != NULL)
        fprintf(f, "\nExample:\n  %s\n", cmd->example);
}

static void print_overview(FILE *f)
{
    fprintf(f, "usage: rockstream <command> [options]\n\n"
               "rockstream keeps RocksDB databases safe and available.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "  %-12s %s\n", "help", "show this list, or a command's help: rockstream help <command>");
    fprintf(f, "\nDocumentation: docs/ in the source tree (start with README.md).\n");
}

static int help(int argc, char **argv)
{
    /* one write for a whole page: `rockstream help serve | grep -q x`
     * closes the pipe at its first match, and a page written in parts
     * would then die of SIGPIPE halfway */
    static char page[64 * 1024];
    setvbuf(stdout, page, _IOFBF, sizeof page);
    if (argc < 3) {
        print_overview(stdout);
        return RS_OK;
    }
    const struct cli_cmd *cmd = find(argv[2]);
    if (cmd == NULL) {
        fprintf(stderr, "rockstream: no command '%s'\n", argv[2]);
        print_overview(stderr);
        return RS_E_INVALID;
    }
    cli_print_help(stdout, cmd);
    return RS_OK;
}

static void print_error(const rs_err *err)
{
    fprintf(stderr, "rockstream: error: %s\n", err->msg[0] != '\0' ? err->msg : rs_code_name(err->code));
    if (err->hint != NULL)
        fprintf(stderr, "  hint: %s\n", err->hint);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return RS_E_INVALID;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return help(argc, argv);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("rockstream " RS_VERSION "\n");
        return RS_OK;
    }
    const struct cli_cmd *cmd = find(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "rockstream: no command '%s'; run 'rockstream help' for the list\n", argv[1]);
        return RS_E_INVALID;
    }
    rs_err err = RS_ERR_INIT;
    int rc = cmd->run(argc - 1, argv + 1, &err);
    if (rc != RS_OK && err.code != RS_OK)
        print_error(&err);
    return rc;
}
