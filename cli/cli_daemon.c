/*
 * What rockstream serve and rockstream follow share: the options of the
 * Redis port, its lock-down and replication, the secrets read from files
 * (snapshot key, password, replication key), signals and file limits, and
 * the order of startup: every secret and the server's whole config are
 * checked before the database is opened, so a refusal changes nothing.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/secret_file.h"

/* A password is a line of text; Redis's are at most 512 bytes in practice. */
#define PASSWORD_FILE_MAX 4096

/* ---- options --------------------------------------------------------------- */

static rs_code rename_option(const char *arg, struct cli_daemon_args *d, rs_err *err)
{
    rs_server_config *s = &d->server;
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg)
        return rs_err_set(err, RS_E_INVALID, "--rename-command: expected NAME=NEWNAME, or NAME= to disable NAME");
    if (s->n_renames == RS_SERVER_MAX_RENAMES)
        return rs_err_set(err, RS_E_INVALID, "--rename-command: at most %d", RS_SERVER_MAX_RENAMES);
    char (*pair)[32] = d->renames[s->n_renames];
    if ((size_t)(eq - arg) >= sizeof pair[0] || strlen(eq + 1) >= sizeof pair[1])
        return rs_err_set(err, RS_E_INVALID, "--rename-command: names are at most %zu characters",
                          sizeof pair[0] - 1);
    snprintf(pair[0], sizeof pair[0], "%.*s", (int)(eq - arg), arg);
    snprintf(pair[1], sizeof pair[1], "%s", eq + 1);
    s->renames[s->n_renames++] = (rs_server_rename){.name = pair[0], .to = pair[1]};
    return RS_OK;
}

/* A password on the command line is seen by every user of the host (ps,
 * /proc): it is taken from a file only. */
static rs_code password_option(const char *arg, struct cli_daemon_args *d, rs_err *err)
{
    if (d->on_command_line) {
        rs_err_set(err, RS_E_INVALID, "--requirepass: a password on the command line is visible to every user "
                   "of this host");
        rs_err_hint(err, "put it in a file readable only by you and pass --requirepass-file FILE, or write "
                         "requirepass = ... in the config file");
        return RS_E_INVALID;
    }
    d->password = arg;
    return RS_OK;
}

rs_code cli_daemon_option(int opt, const char *arg, struct cli_daemon_args *d, rs_err *err)
{
    rs_server_config *s = &d->server;
    switch (opt) {
    case CLI_OPT_LISTEN: s->listen = arg; return RS_OK;
    case CLI_OPT_PORT_FILE: s->port_file = arg; return RS_OK;
    case CLI_OPT_REQUIREPASS_FILE: d->password_file = arg; return RS_OK;
    case CLI_OPT_REQUIREPASS: return password_option(arg, d, err);
    case CLI_OPT_TLS_PORT: s->tls_port = arg; return RS_OK;
    case CLI_OPT_TLS_CERT_FILE: s->tls_cert_file = arg; return RS_OK;
    case CLI_OPT_TLS_KEY_FILE: s->tls_key_file = arg; return RS_OK;
    case CLI_OPT_TLS_CA_CERT_FILE: s->tls_ca_cert_file = arg; return RS_OK;
    case CLI_OPT_RENAME_COMMAND: return rename_option(arg, d, err);
    case CLI_OPT_REPL_LISTEN: s->repl_listen = arg; return RS_OK;
    case CLI_OPT_REPL_KEY: d->repl_key_file = arg; return RS_OK;
    case CLI_OPT_REPL_ENCRYPT: s->repl_encrypt = 1; return RS_OK;
    case CLI_OPT_RESYNC_RATE:
        if (cli_parse_size(arg, &s->resync_rate) != 0 || s->resync_rate < 1024)
            return rs_err_set(err, RS_E_INVALID, "--resync-rate '%s': expected a size a second, like 50M", arg);
        return RS_OK;
    }
    return RS_E_NOTFOUND;
}

/* ---- secrets ------------------------------------------------------------------- */

/* The snapshot key, when one is configured. Fail closed: a key that is
 * asked for but missing, unreadable or too open stops the daemon from
 * starting, rather than leaving a server that would fail (or, worse, be
 * "fixed" to seal without it) at the first SNAPSHOT. */
static rs_code load_snapshot_key(const struct cli_key_args *k, rs_snapshot_key **out, rs_err *err)
{
    if (k->key_file == NULL && !k->passphrase)
        return RS_OK; /* SNAPSHOT will refuse, saying why */
    rs_code rc = cli_key_load(k, 1, out, err); /* it seals: a typo would make archives nobody opens */
    if (rc != RS_OK) {
        rs_err_prefix(err, "snapshot key");
        return rc;
    }
    RS_LOG_INFO("serve: snapshots sealed with %s id=%s", rs_snapshot_key_describe(*out), rs_snapshot_key_id(*out));
    return RS_OK;
}

/* The password file's first line, without its line end. */
static rs_code read_password_file(const char *path, rs_secret_file *f, rs_err *err)
{
    rs_code rc = rs_secret_file_read(path, "password file", PASSWORD_FILE_MAX, 0, f, err);
    if (rc != RS_OK)
        return rc;
    if (f->len > 0 && f->text[f->len - 1] == '\n')
        f->text[--f->len] = '\0';
    if (f->len > 0 && f->text[f->len - 1] == '\r')
        f->text[--f->len] = '\0';
    if (f->len == 0 || memchr(f->text, '\n', f->len) != NULL || memchr(f->text, '\0', f->len) != NULL)
        return rs_err_set(err, RS_E_INVALID, "password file '%s' must hold one line: the password", path);
    return RS_OK;
}

/* requirepass in the config file: then the file itself is a secret. */
static rs_code check_config_private(const char *path, rs_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "config '%s'", path);
    return rs_secret_file_check_private(path, "config file with requirepass", (unsigned)(st.st_mode & 07777), err);
}

struct secrets {
    rs_snapshot_key *snapshot_key;
    rs_wal_key       repl_key;
    rs_secret_file   password;
};

static rs_code load_secrets(struct cli_daemon_args *d, struct secrets *s, rs_err *err)
{
    rs_server_config *cfg = &d->server;
    rs_code rc = load_snapshot_key(&d->key, &s->snapshot_key, err);
    cfg->snapshot_key = s->snapshot_key;
    if (rc == RS_OK && d->password_file != NULL && d->password != NULL)
        rc = rs_err_set(err, RS_E_INVALID, "give the password once: --requirepass-file or requirepass");
    if (rc == RS_OK && d->password_file != NULL && (rc = read_password_file(d->password_file, &s->password, err)) == RS_OK) {
        cfg->password = (const uint8_t *)s->password.text;
        cfg->password_len = s->password.len;
    }
    if (rc == RS_OK && d->password != NULL && (rc = check_config_private(d->config_path, err)) == RS_OK) {
        cfg->password = (const uint8_t *)d->password;
        cfg->password_len = strlen(d->password);
    }
    if (rc == RS_OK && d->repl_key_file != NULL && (rc = rs_wal_key_read(d->repl_key_file, &s->repl_key, err)) == RS_OK)
        cfg->repl_key = &s->repl_key;
    return rc;
}

static void release_secrets(struct cli_daemon_args *d, struct secrets *s)
{
    rs_snapshot_key_destroy(s->snapshot_key);
    rs_secret_file_release(&s->password);
    explicit_bzero(&s->repl_key, sizeof s->repl_key);
    d->server.snapshot_key = NULL;
    d->server.password = NULL;
    d->server.repl_key = NULL;
}

/* ---- signals and limits ----------------------------------------------------------- */

static rs_server *_Atomic running;
static volatile sig_atomic_t stop_asked;

static void on_signal(int sig)
{
    (void)sig;
    stop_asked = 1;
    rs_server *s = running;
    if (s != NULL)
        rs_server_stop(s); /* atomic stores and an eventfd write: signal safe */
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* a client that hangs up must not kill the server: send() returns
     * EPIPE, and so do OpenSSL's writes to a TLS client */
    signal(SIGPIPE, SIG_IGN);
}

/* Each client is a file descriptor: lift the soft limit toward the hard one
 * so that max-clients connections fit (1024 is a common default). */
static void raise_fd_limit(uint64_t max_clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)max_clients + 128; /* + RocksDB's files, listeners, ... */
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        RS_LOG_WARN("serve: open files limited to %llu, fewer than max-clients=%llu needs; raise 'ulimit -Hn'",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)max_clients);
}

/* ---- the run ------------------------------------------------------------------------ */

static rs_code serve(struct cli_daemon_args *d, rs_server *srv, rs_err *err)
{
    atomic_store(&running, srv);
    if (stop_asked)
        rs_server_stop(srv); /* a signal came while the secrets were read */
    rs_store *store = NULL;
    rs_code rc = RS_OK;
    /* a follower opens (or bootstraps) its database itself, as a replica */
    if (d->server.primary == NULL)
        rc = cli_store_open(&d->store, &store, err);
    /* the server runs its role and restarts on role changes (REPLICAOF)
     * and when a resync replaces the database */
    if (rc == RS_OK)
        rc = rs_server_run(srv, store, err);
    atomic_store(&running, NULL);
    return rc;
}

/* What a crash mid-SNAPSHOT left: the checkpoint beside the database, the
 * archive's temporaries where SNAPSHOT writes (--snapshot-dir, else the
 * database's parent). */
static void sweep_snapshot_leftovers(const struct cli_daemon_args *d)
{
    char parent[PATH_MAX];
    const char *dir = d->server.snapshot_dir;
    if (dir == NULL && d->store.db != NULL && strlen(d->store.db) < sizeof parent) {
        strcpy(parent, d->store.db);
        dir = dirname(parent);
    }
    rs_snapshot_sweep(d->store.db, dir);
}

rs_code cli_daemon_run(struct cli_daemon_args *d, rs_err *err)
{
    install_signals();
    rs_server_config_resolve(&d->server);
    raise_fd_limit(d->server.max_clients);
    d->server.db_path = d->store.db;
    d->server.store_cfg = &d->store.cfg;
    sweep_snapshot_leftovers(d);
    struct secrets s = {0};
    rs_server *srv = NULL;
    rs_code rc = load_secrets(d, &s, err);
    if (rc == RS_OK)
        rc = rs_server_create(&d->server, &srv, err);
    /* the server keeps only the password's digest: wipe the file's copy
     * and the config file's (cli_config keeps it in our own memory) */
    rs_secret_file_release(&s.password);
    if (d->password != NULL)
        explicit_bzero((char *)d->password, strlen(d->password));
    if (rc == RS_OK)
        rc = serve(d, srv, err);
    rs_server_destroy(srv);
    release_secrets(d, &s);
    if (rc == RS_OK)
        RS_LOG_INFO("serve: stopped");
    return rc;
}
