/*
 * The command table: every family's commands (one struct server_cmd_set
 * per cmd_*.c), sorted by name for lookup, with the renames of a
 * configuration applied, as Redis's rename-command: an administrative
 * command (CMD_ADMIN) can be given another name or disabled, so a client
 * that has the password still cannot SNAPSHOT, REPLICAOF or DEBUG unless
 * it knows the new name. Disabling or renaming one name of a command
 * (SLAVEOF) takes its other names (REPLICAOF) with it: one way in, or
 * none.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/assert.h"
#include "server/cmd.h"

/* Every family of commands. A new family is a new cmd_*.c and a line here. */
static const struct server_cmd_set *const sets[] = {
    &server_cmds_kv,   &server_cmds_keyspace, &server_cmds_conn, &server_cmds_auth,
    &server_cmds_info, &server_cmds_snapshot, &server_cmds_repl,
};

#define MAX_COMMANDS 64
#define MAX_NAME 32

struct entry {
    char name[MAX_NAME];
    const struct server_cmd *cmd;
};

struct server_cmd_table {
    struct entry e[MAX_COMMANDS];
    size_t n;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static struct entry *find(struct server_cmd_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcasecmp(t->e[i].name, name) == 0)
            return &t->e[i];
    return NULL;
}

/* A new name is what a client can type as one argument: printable, no
 * spaces, and it stays lower case like the others. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n >= MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

/* Drops every entry whose command runs proc (its other names). */
static void drop_aliases(struct server_cmd_table *t, void (*proc)(struct cmd_ctx *), const struct entry *keep)
{
    size_t out = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].cmd->proc != proc || &t->e[i] == keep)
            t->e[out++] = t->e[i];
    t->n = out;
}

static rs_code apply_rename(struct server_cmd_table *t, const rs_server_rename *r, rs_err *err)
{
    struct entry *e = find(t, r->name);
    if (e == NULL || !(e->cmd->flags & CMD_ADMIN))
        return rs_err_set(err, RS_E_INVALID, "rename-command '%s': only SNAPSHOT, REPLICAOF, SLAVEOF and DEBUG can "
                          "be renamed or disabled", r->name);
    void (*proc)(struct cmd_ctx *) = e->cmd->proc;
    if (r->to[0] == '\0') {
        drop_aliases(t, proc, NULL);
        return RS_OK;
    }
    /* the new name is not quoted: renaming hides a command, so its new
     * name is a secret of sorts (it never reaches a log either) */
    if (!valid_name(r->to))
        return rs_err_set(err, RS_E_INVALID, "rename-command '%s': the new name must be 1 to %d printable "
                          "characters without spaces", r->name, MAX_NAME - 1);
    if (find(t, r->to) != NULL)
        return rs_err_set(err, RS_E_INVALID, "rename-command '%s': the new name is already a command", r->name);
    for (size_t i = 0; r->to[i] != '\0'; i++)
        e->name[i] = (char)(r->to[i] >= 'A' && r->to[i] <= 'Z' ? r->to[i] + 32 : r->to[i]);
    e->name[strlen(r->to)] = '\0';
    drop_aliases(t, proc, e);
    return RS_OK;
}

rs_code server_cmd_table_create(const rs_server_rename *renames, size_t n, struct server_cmd_table **out,
                                rs_err *err)
{
    struct server_cmd_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return rs_err_set(err, RS_E_NOMEM, "serve: out of memory");
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        for (size_t i = 0; i < sets[s]->n; i++) {
            rs_assert(t->n < MAX_COMMANDS && strlen(sets[s]->cmds[i].name) < MAX_NAME);
            strcpy(t->e[t->n].name, sets[s]->cmds[i].name);
            t->e[t->n++].cmd = &sets[s]->cmds[i];
        }
    }
    rs_code rc = RS_OK;
    for (size_t i = 0; i < n && rc == RS_OK; i++)
        rc = apply_rename(t, &renames[i], err);
    if (rc != RS_OK) {
        free(t);
        return rc;
    }
    qsort(t->e, t->n, sizeof t->e[0], by_name);
    *out = t;
    return RS_OK;
}

void server_cmd_table_destroy(struct server_cmd_table *t) { free(t); }

const struct server_cmd *server_cmd_lookup(const struct server_cmd_table *t, const uint8_t *name, size_t len)
{
    char lower[MAX_NAME];
    if (len == 0 || len >= sizeof lower || memchr(name, '\0', len) != NULL)
        return NULL;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    lower[len] = '\0';
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(lower, t->e[mid].name);
        if (d == 0)
            return t->e[mid].cmd;
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t server_cmd_count(const struct server_cmd_table *t) { return t->n; }

const struct server_cmd *server_cmd_at(const struct server_cmd_table *t, size_t i, const char **name)
{
    *name = t->e[i].name;
    return t->e[i].cmd;
}
