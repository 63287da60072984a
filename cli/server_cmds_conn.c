/*
 * Connection and introspection commands: PING, ECHO, QUIT, SELECT, CLIENT
 * SETNAME/GETNAME/ID, and COMMAND (COUNT, DOCS, INFO-style list) so that
 * redis-cli's help and hints work against rockstream.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/server_int.h"

#ifndef RS_VERSION
#define RS_VERSION "dev"
#endif

static void ping_cmd(struct cmd_ctx *x)
{
    if (x->argc > 2)
        reply_errorf(x, "ERR wrong number of arguments for 'ping' command");
    else if (x->argc == 2)
        resp_add_bulk(reply_buf(x), arg_ptr(x, 1), arg_len(x, 1));
    else
        resp_add_simple(reply_buf(x), "PONG");
}

static void echo_cmd(struct cmd_ctx *x) { resp_add_bulk(reply_buf(x), arg_ptr(x, 1), arg_len(x, 1)); }

static void quit_cmd(struct cmd_ctx *x)
{
    reply_ok(x);
    x->c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* rockstream has one keyspace; clients that select database 0 out of
 * habit keep working. */
static void select_cmd(struct cmd_ctx *x)
{
    int64_t db = 0;
    if (arg_int64(x, 1, &db) != 0)
        return;
    if (db != 0)
        reply_errorf(x, "ERR DB index is out of range (rockstream has database 0 only)");
    else
        reply_ok(x);
}

/* ---- CLIENT ----------------------------------------------------------- */

static int name_ok(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] < '!' || p[i] > '~')
            return 0;
    return 1;
}

static void client_setname(struct cmd_ctx *x)
{
    const uint8_t *p = arg_ptr(x, 2);
    size_t len = arg_len(x, 2);
    if (!name_ok(p, len)) {
        reply_errorf(x, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    char *name = NULL;
    if (len > 0 && (name = strndup((const char *)p, len)) == NULL) {
        reply_errorf(x, "ERR out of memory");
        return;
    }
    free(x->c->name);
    x->c->name = name;
    reply_ok(x);
}

static void client_cmd(struct cmd_ctx *x)
{
    if (arg_is(x, 1, "SETNAME") && x->argc == 3) {
        client_setname(x);
    } else if (arg_is(x, 1, "GETNAME") && x->argc == 2) {
        if (x->c->name != NULL)
            resp_add_bulk_str(reply_buf(x), x->c->name);
        else
            resp_add_null(reply_buf(x));
    } else if (arg_is(x, 1, "ID") && x->argc == 2) {
        resp_add_int(reply_buf(x), (int64_t)x->c->id);
    } else {
        reply_errorf(x, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                        "Try SETNAME, GETNAME or ID.", (int)(arg_len(x, 1) > 64 ? 64 : arg_len(x, 1)),
                     (const char *)arg_ptr(x, 1));
    }
}

/* ---- COMMAND ---------------------------------------------------------- */

/* The Redis 7 layout of one COMMAND DOCS entry (a map, flattened into an
 * array in RESP2). The arguments are given as one "string" argument whose
 * name is the whole synopsis: redis-cli prints it as is. */
static void add_docs(struct resp_buf *b, const struct server_cmd *cmd)
{
    int has_params = cmd->params != NULL && cmd->params[0] != '\0';
    resp_add_bulk_str(b, cmd->name);
    resp_add_array(b, has_params ? 8 : 6);
    resp_add_bulk_str(b, "summary");
    resp_add_bulk_str(b, cmd->summary);
    resp_add_bulk_str(b, "since");
    resp_add_bulk_str(b, RS_VERSION);
    resp_add_bulk_str(b, "group");
    resp_add_bulk_str(b, cmd->group);
    if (has_params) {
        resp_add_bulk_str(b, "arguments");
        resp_add_array(b, 1);
        resp_add_array(b, 4);
        resp_add_bulk_str(b, "name");
        resp_add_bulk_str(b, cmd->params);
        resp_add_bulk_str(b, "type");
        resp_add_bulk_str(b, "string");
    }
}

/* COMMAND DOCS [name ...]: every command, or the named ones we have. */
static void command_docs(struct cmd_ctx *x)
{
    size_t n = 0;
    struct resp_buf body = {0};
    for (size_t i = 0; i < server_cmds_count(); i++) {
        const struct server_cmd *cmd = server_cmds_at(i);
        int wanted = x->argc == 2;
        for (size_t a = 2; a < x->argc && !wanted; a++)
            wanted = arg_is(x, a, cmd->name);
        if (wanted) {
            add_docs(&body, cmd);
            n++;
        }
    }
    resp_add_array(reply_buf(x), 2 * n);
    resp_buf_append(reply_buf(x), body.data, body.len);
    if (body.oom)
        reply_buf(x)->oom = 1;
    resp_buf_release(&body);
}

/* COMMAND with no subcommand: Redis's per-command info, keys unspecified. */
static void command_list(struct cmd_ctx *x)
{
    struct resp_buf *b = reply_buf(x);
    resp_add_array(b, server_cmds_count());
    for (size_t i = 0; i < server_cmds_count(); i++) {
        const struct server_cmd *cmd = server_cmds_at(i);
        resp_add_array(b, 6);
        resp_add_bulk_str(b, cmd->name);
        resp_add_int(b, cmd->arity);
        resp_add_array(b, 1);
        resp_add_simple(b, cmd->flags & CMD_WRITE ? "write" : cmd->flags & CMD_DATA ? "readonly" : "fast");
        resp_add_int(b, 0);
        resp_add_int(b, 0);
        resp_add_int(b, 0);
    }
}

static void command_cmd(struct cmd_ctx *x)
{
    if (x->argc == 1)
        command_list(x);
    else if (arg_is(x, 1, "COUNT") && x->argc == 2)
        resp_add_int(reply_buf(x), (int64_t)server_cmds_count());
    else if (arg_is(x, 1, "DOCS"))
        command_docs(x);
    else
        reply_errorf(x, "ERR unknown subcommand '%.*s'. Try COMMAND COUNT or COMMAND DOCS.",
                     (int)(arg_len(x, 1) > 64 ? 64 : arg_len(x, 1)), (const char *)arg_ptr(x, 1));
}

static const struct server_cmd cmds[] = {
    {"ping", -1, 0, ping_cmd, "connection", "Returns PONG, or the message given", "[message]"},
    {"echo", 2, 0, echo_cmd, "connection", "Returns the message given", "message"},
    {"quit", 1, 0, quit_cmd, "connection", "Closes the connection after the replies before it", ""},
    {"select", 2, 0, select_cmd, "connection", "Selects database 0, the only one", "index"},
    {"client", -2, 0, client_cmd, "connection", "Names the connection, or tells its name or id",
     "SETNAME name | GETNAME | ID"},
    {"command", -1, 0, command_cmd, "server", "Describes the commands (COUNT, DOCS)", "[COUNT | DOCS [name ...]]"},
};

const struct server_cmd_set server_cmds_conn = {cmds, sizeof cmds / sizeof cmds[0]};
