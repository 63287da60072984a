/*
 * Connection and introspection commands: PING, ECHO, QUIT, SELECT, CLIENT
 * SETNAME/GETNAME/ID, and COMMAND (COUNT, DOCS, INFO-style list) so that
 * redis-cli's help and hints work against rockstream.
 */
#include <stdlib.h>
#include <string.h>

#include "server/cmd.h"

static void ping_cmd(struct cmd_ctx *x)
{
    if (x->argc > 2)
        server_reply_errorf(x, "ERR wrong number of arguments for 'ping' command");
    else if (x->argc == 2)
        server_resp_add_bulk(reply_buf(x), arg_ptr(x, 1), arg_len(x, 1));
    else
        server_resp_add_simple(reply_buf(x), "PONG");
}

static void echo_cmd(struct cmd_ctx *x) { server_resp_add_bulk(reply_buf(x), arg_ptr(x, 1), arg_len(x, 1)); }

static void quit_cmd(struct cmd_ctx *x)
{
    server_reply_ok(x);
    x->c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* rockstream has one keyspace; clients that select database 0 out of
 * habit keep working. */
static void select_cmd(struct cmd_ctx *x)
{
    int64_t db = 0;
    if (server_arg_int64(x, 1, &db) != 0)
        return;
    if (db != 0)
        server_reply_errorf(x, "ERR DB index is out of range (rockstream has database 0 only)");
    else
        server_reply_ok(x);
}

/* ---- CLIENT ----------------------------------------------------------- */

static int name_ok(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] < '!' || p[i] > '~')
            return 0;
    return 1;
}

int server_client_setname(struct cmd_ctx *x, size_t i)
{
    const uint8_t *p = arg_ptr(x, i);
    size_t len = arg_len(x, i);
    if (!name_ok(p, len)) {
        server_reply_errorf(x, "ERR Client names cannot contain spaces, newlines or special characters.");
        return -1;
    }
    char *name = NULL;
    if (len > 0 && (name = strndup((const char *)p, len)) == NULL) {
        server_reply_errorf(x, "ERR out of memory");
        return -1;
    }
    free(x->c->name);
    x->c->name = name;
    return 0;
}

static void client_cmd(struct cmd_ctx *x)
{
    if (server_arg_is(x, 1, "SETNAME") && x->argc == 3) {
        if (server_client_setname(x, 2) == 0)
            server_reply_ok(x);
    } else if (server_arg_is(x, 1, "GETNAME") && x->argc == 2) {
        if (x->c->name != NULL)
            server_resp_add_bulk_str(reply_buf(x), x->c->name);
        else
            server_resp_add_null(reply_buf(x));
    } else if (server_arg_is(x, 1, "ID") && x->argc == 2) {
        server_resp_add_int(reply_buf(x), (int64_t)x->c->id);
    } else {
        server_reply_errorf(x, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                               "Try SETNAME, GETNAME or ID.", arg_shown(x, 1, 64), (const char *)arg_ptr(x, 1));
    }
}

/* ---- COMMAND ---------------------------------------------------------- */

/* The Redis 7 layout of one COMMAND DOCS entry (a map, flattened into an
 * array in RESP2). The arguments are given as one "string" argument whose
 * name is the whole synopsis: redis-cli prints it as is. */
static void add_docs(struct resp_buf *b, const char *name, const struct server_cmd *cmd)
{
    int has_params = cmd->params != NULL && cmd->params[0] != '\0';
    server_resp_add_bulk_str(b, name);
    server_resp_add_array(b, has_params ? 8 : 6);
    server_resp_add_bulk_str(b, "summary");
    server_resp_add_bulk_str(b, cmd->summary);
    server_resp_add_bulk_str(b, "since");
    server_resp_add_bulk_str(b, RS_VERSION);
    server_resp_add_bulk_str(b, "group");
    server_resp_add_bulk_str(b, cmd->group);
    if (has_params) {
        server_resp_add_bulk_str(b, "arguments");
        server_resp_add_array(b, 1);
        server_resp_add_array(b, 4);
        server_resp_add_bulk_str(b, "name");
        server_resp_add_bulk_str(b, cmd->params);
        server_resp_add_bulk_str(b, "type");
        server_resp_add_bulk_str(b, "string");
    }
}

/* COMMAND DOCS [name ...]: every command, or the named ones we have. */
static void command_docs(struct cmd_ctx *x)
{
    const struct server_cmd_table *t = x->srv->setup->cmds;
    size_t n = 0;
    struct resp_buf body = {0};
    for (size_t i = 0; i < server_cmd_count(t); i++) {
        const char *name = NULL;
        const struct server_cmd *cmd = server_cmd_at(t, i, &name);
        int wanted = x->argc == 2;
        for (size_t a = 2; a < x->argc && !wanted; a++)
            wanted = server_arg_is(x, a, name);
        if (wanted) {
            add_docs(&body, name, cmd);
            n++;
        }
    }
    server_resp_add_array(reply_buf(x), 2 * n);
    server_resp_buf_append(reply_buf(x), body.data, body.len);
    if (body.oom)
        reply_buf(x)->oom = 1;
    server_resp_buf_release(&body);
}

/* COMMAND with no subcommand: Redis's per-command info, keys unspecified. */
static void command_list(struct cmd_ctx *x)
{
    const struct server_cmd_table *t = x->srv->setup->cmds;
    struct resp_buf *b = reply_buf(x);
    server_resp_add_array(b, server_cmd_count(t));
    for (size_t i = 0; i < server_cmd_count(t); i++) {
        const char *name = NULL;
        const struct server_cmd *cmd = server_cmd_at(t, i, &name);
        server_resp_add_array(b, 6);
        server_resp_add_bulk_str(b, name);
        server_resp_add_int(b, cmd->arity);
        server_resp_add_array(b, 1);
        server_resp_add_simple(b, cmd->flags & CMD_WRITE ? "write" : cmd->flags & CMD_DATA ? "readonly" : "fast");
        server_resp_add_int(b, 0);
        server_resp_add_int(b, 0);
        server_resp_add_int(b, 0);
    }
}

static void command_cmd(struct cmd_ctx *x)
{
    if (x->argc == 1)
        command_list(x);
    else if (server_arg_is(x, 1, "COUNT") && x->argc == 2)
        server_resp_add_int(reply_buf(x), (int64_t)server_cmd_count(x->srv->setup->cmds));
    else if (server_arg_is(x, 1, "DOCS"))
        command_docs(x);
    else
        server_reply_errorf(x, "ERR unknown subcommand '%.*s'. Try COMMAND COUNT or COMMAND DOCS.",
                            arg_shown(x, 1, 64), (const char *)arg_ptr(x, 1));
}

static const struct server_cmd cmds[] = {
    {"ping", -1, 0, ping_cmd, "connection", "Returns PONG, or the message given", "[message]"},
    {"echo", 2, 0, echo_cmd, "connection", "Returns the message given", "message"},
    {"quit", 1, CMD_NOAUTH, quit_cmd, "connection", "Closes the connection after the replies before it", ""},
    {"select", 2, 0, select_cmd, "connection", "Selects database 0, the only one", "index"},
    {"client", -2, 0, client_cmd, "connection", "Names the connection, or tells its name or id",
     "SETNAME name | GETNAME | ID"},
    {"command", -1, 0, command_cmd, "server", "Describes the commands (COUNT, DOCS)", "[COUNT | DOCS [name ...]]"},
};

const struct server_cmd_set server_cmds_conn = {cmds, sizeof cmds / sizeof cmds[0]};
