/*
 * AUTH and HELLO: a client proves it knows the password (requirepass).
 * The check takes the same time whatever the attempt has in common with
 * the password: the attempt's keyed BLAKE2b digest is compared, in
 * constant time, with the password's (made at setup, which keeps no copy
 * of the password). A wrong password gets Redis's WRONGPASS and a log line
 * that never holds the attempt, at most one a second, so a guesser cannot
 * flood the log.
 */
#include <sodium.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/cmd.h"

#define AUTH_LOG_INTERVAL_NS 1000000000ull

void server_auth_digest(const uint8_t key[SERVER_AUTH_DIGEST_BYTES], const uint8_t *p, size_t len,
                        uint8_t out[SERVER_AUTH_DIGEST_BYTES])
{
    crypto_generichash(out, SERVER_AUTH_DIGEST_BYTES, p, len, key, SERVER_AUTH_DIGEST_BYTES);
}

static int password_matches(const struct cmd_ctx *x, size_t i)
{
    const struct server_setup *s = x->srv->setup;
    uint8_t d[SERVER_AUTH_DIGEST_BYTES];
    server_auth_digest(s->auth_key, arg_ptr(x, i), arg_len(x, i), d);
    int ok = sodium_memcmp(d, s->auth_digest, sizeof d) == 0;
    sodium_memzero(d, sizeof d);
    return ok;
}

static void log_failure(struct server *srv, const struct client *c)
{
    srv->stats.auth_failures++;
    uint64_t now = rs_clock_mono_ns();
    if (srv->auth_log_ns != 0 && now - srv->auth_log_ns < AUTH_LOG_INTERVAL_NS) {
        srv->auth_log_quiet++;
        return;
    }
    RS_LOG_WARN("serve: AUTH failed: wrong password id=%llu addr=%s failures_not_logged=%llu",
                (unsigned long long)c->id, c->addr, (unsigned long long)srv->auth_log_quiet);
    srv->auth_log_ns = now;
    srv->auth_log_quiet = 0;
}

/* Authenticates x's client with the password in argument pass_i, for the
 * user in user_i (0: none given; only "default" exists, as in Redis
 * without ACLs). Returns 0, or -1 with the error replied. */
static int authenticate(struct cmd_ctx *x, size_t user_i, size_t pass_i)
{
    int user_ok = user_i == 0 || (arg_len(x, user_i) == 7 && memcmp(arg_ptr(x, user_i), "default", 7) == 0);
    if (!x->srv->setup->has_password) {
        if (user_i == 0) {
            server_reply_errorf(x, "ERR AUTH <password> called without any password configured for the default "
                                   "user. Are you sure your configuration is correct?");
            return -1;
        }
        if (user_ok)
            return 0; /* Redis's default user without a password takes any */
    } else if (password_matches(x, pass_i) && user_ok) {
        x->c->flags |= CLIENT_AUTHENTICATED;
        return 0;
    } else {
        log_failure(x->srv, x->c);
    }
    server_reply_errorf(x, "WRONGPASS invalid username-password pair or user is disabled.");
    return -1;
}

/* AUTH password | AUTH username password */
static void auth_cmd(struct cmd_ctx *x)
{
    if (x->argc > 3) {
        server_reply_syntax_error(x);
        return;
    }
    if (authenticate(x, x->argc == 3 ? 1 : 0, x->argc - 1) == 0)
        server_reply_ok(x);
}

/* ---- HELLO ------------------------------------------------------------------ */

/* The server's facts as field-value pairs (RESP2's map). */
static void reply_hello(struct cmd_ctx *x)
{
    struct resp_buf *b = reply_buf(x);
    int follower = x->srv->role != NULL && x->srv->role->follower;
    server_resp_add_array(b, 2 * 7);
    server_reply_field_str(b, "server", "redis");
    server_reply_field_str(b, "version", SERVER_REDIS_COMPAT_VERSION);
    server_reply_field_int(b, "proto", 2);
    server_reply_field_int(b, "id", (int64_t)x->c->id);
    server_reply_field_str(b, "mode", "standalone");
    server_reply_field_str(b, "role", follower ? "replica" : "master");
    server_resp_add_bulk_str(b, "modules");
    server_resp_add_array(b, 0);
}

/* HELLO [protover [AUTH username password] [SETNAME name]]: RESP2 only. */
static void hello_cmd(struct cmd_ctx *x)
{
    int64_t proto = 2;
    if (x->argc >= 2 && server_parse_int64(arg_ptr(x, 1), arg_len(x, 1), &proto) != 0) {
        server_reply_errorf(x, "ERR Protocol version is not an integer or out of range");
        return;
    }
    if (proto != 2) {
        server_reply_errorf(x, "NOPROTO sorry, this protocol version is not supported (rockstream speaks RESP2)");
        return;
    }
    size_t auth_at = 0, name_at = 0;
    for (size_t i = 2; i < x->argc; i++) {
        if (server_arg_is(x, i, "AUTH") && i + 2 < x->argc) {
            auth_at = i;
            i += 2;
        } else if (server_arg_is(x, i, "SETNAME") && i + 1 < x->argc) {
            name_at = ++i;
        } else {
            server_reply_errorf(x, "ERR Syntax error in HELLO option '%.*s'", arg_shown(x, i, 64),
                                (const char *)arg_ptr(x, i));
            return;
        }
    }
    if (auth_at != 0 && authenticate(x, auth_at + 1, auth_at + 2) != 0)
        return;
    if (!(x->c->flags & CLIENT_AUTHENTICATED)) {
        server_reply_errorf(x, "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                               "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
                               "select the RESP protocol version at the same time");
        return;
    }
    if (name_at != 0 && server_client_setname(x, name_at) != 0)
        return;
    reply_hello(x);
}

static const struct server_cmd cmds[] = {
    {"auth", -2, CMD_NOAUTH, auth_cmd, "connection", "Authenticates the connection with the server's password",
     "[username] password"},
    {"hello", -1, CMD_NOAUTH, hello_cmd, "connection",
     "Says which protocol the server speaks (RESP2), optionally authenticating and naming the connection",
     "[protover [AUTH username password] [SETNAME clientname]]"},
};

const struct server_cmd_set server_cmds_auth = {cmds, sizeof cmds / sizeof cmds[0]};
