/*
 * cli/: the rockstream program. Each command is a struct cli_cmd in its own
 * file; main.c dispatches and prints errors. Declarations shared by the
 * command files live here; nothing outside cli/ includes it.
 */
#ifndef RS_CLI_H
#define RS_CLI_H

#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "objstore/objstore.h"
#include "server/server.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

struct cli_cmd {
    const char *name;
    const char *summary;  /* one line for `rockstream help` */
    const char *usage;    /* the synopsis line */
    const char *help;     /* what it does and its own options */
    const char *example;  /* a runnable example, shown last */
    int uses_store;       /* takes the database options */
    int (*run)(int argc, char **argv, rs_err *err); /* returns an rs_code */
};

extern const struct cli_cmd cli_cmd_load, cli_cmd_stat, cli_cmd_get, cli_cmd_put, cli_cmd_del,
    cli_cmd_scan;
extern const struct cli_cmd cli_cmd_snapshot, cli_cmd_unseal, cli_cmd_keygen;
extern const struct cli_cmd cli_cmd_serve;
extern const struct cli_cmd cli_cmd_versions, cli_cmd_rollback, cli_cmd_prune_state, cli_cmd_migrate;
extern const struct cli_cmd cli_cmd_follow;

/* ---- options shared by commands (cli_opts.c) ----------------------- */

enum cli_opt {
    CLI_OPT_HELP = 'h',
    CLI_OPT_FIRST = 0x100,
    CLI_OPT_LOG_LEVEL,
    CLI_OPT_LOG_FORMAT,
    CLI_OPT_DB,
    CLI_OPT_CREATE,
    CLI_OPT_SYNC,
    CLI_OPT_BLOCK_CACHE,
    CLI_OPT_WRITE_BUFFER,
    CLI_OPT_WRITE_BUFFERS,
    CLI_OPT_BLOOM_BITS,
    CLI_OPT_COMPRESSION,
    CLI_OPT_BOTTOM_COMPRESSION,
    CLI_OPT_ZSTD_LEVEL,
    CLI_OPT_TIER,
    CLI_OPT_BACKGROUND_JOBS,
    CLI_OPT_GROUP_COMMIT_US,
    CLI_OPT_WAL_KEEP_SECONDS,
    CLI_OPT_WAL_KEEP_BYTES,
    CLI_OPT_LAST_SHARED,  /* commands number their own options from here */
};

#define CLI_COMMON_LONGOPTS                                                     \
    {"help", no_argument, NULL, CLI_OPT_HELP},                                  \
    {"log-level", required_argument, NULL, CLI_OPT_LOG_LEVEL},                  \
    {"log-format", required_argument, NULL, CLI_OPT_LOG_FORMAT}

#define CLI_STORE_LONGOPTS                                                      \
    {"db", required_argument, NULL, CLI_OPT_DB},                                \
    {"create", no_argument, NULL, CLI_OPT_CREATE},                              \
    {"sync", required_argument, NULL, CLI_OPT_SYNC},                            \
    {"block-cache", required_argument, NULL, CLI_OPT_BLOCK_CACHE},              \
    {"write-buffer", required_argument, NULL, CLI_OPT_WRITE_BUFFER},            \
    {"write-buffers", required_argument, NULL, CLI_OPT_WRITE_BUFFERS},          \
    {"bloom-bits", required_argument, NULL, CLI_OPT_BLOOM_BITS},                \
    {"compression", required_argument, NULL, CLI_OPT_COMPRESSION},              \
    {"bottom-compression", required_argument, NULL, CLI_OPT_BOTTOM_COMPRESSION},\
    {"zstd-level", required_argument, NULL, CLI_OPT_ZSTD_LEVEL},                \
    {"tier", required_argument, NULL, CLI_OPT_TIER},                            \
    {"background-jobs", required_argument, NULL, CLI_OPT_BACKGROUND_JOBS},      \
    {"group-commit-us", required_argument, NULL, CLI_OPT_GROUP_COMMIT_US},      \
    {"wal-keep-seconds", required_argument, NULL, CLI_OPT_WAL_KEEP_SECONDS},    \
    {"wal-keep-bytes", required_argument, NULL, CLI_OPT_WAL_KEEP_BYTES}

/* The pruning policy of versioned state (cmd_versions.c), for commands that
 * open a versioned database for writing; numbered apart from both lists. */
enum cli_prune_opt {
    CLI_OPT_PRUNING = 0x300,
    CLI_OPT_KEEP_RECENT,
    CLI_OPT_KEEP_EVERY,
    CLI_OPT_PRUNE_INTERVAL,
};

#define CLI_PRUNE_LONGOPTS                                                      \
    {"pruning", required_argument, NULL, CLI_OPT_PRUNING},                      \
    {"keep-recent", required_argument, NULL, CLI_OPT_KEEP_RECENT},              \
    {"keep-every", required_argument, NULL, CLI_OPT_KEEP_EVERY},                \
    {"interval", required_argument, NULL, CLI_OPT_PRUNE_INTERVAL}

/* Where archives at URLs are (cli_objstore.c), for the commands that read
 * or write them; numbered apart from the lists above. */
enum cli_objstore_opt {
    CLI_OPT_S3_ENDPOINT = 0x500,
    CLI_OPT_S3_REGION,
    CLI_OPT_S3_PROFILE,
    CLI_OPT_S3_CA_FILE,
    CLI_OPT_S3_ADDRESSING,
    CLI_OPT_S3_STORAGE_CLASS,
    CLI_OPT_S3_SSE,
    CLI_OPT_S3_SSE_KMS_KEY_ID,
    CLI_OPT_PART_SIZE,
    CLI_OPT_PARALLEL,
};

#define CLI_OBJSTORE_LONGOPTS                                                   \
    {"s3-endpoint", required_argument, NULL, CLI_OPT_S3_ENDPOINT},              \
    {"s3-region", required_argument, NULL, CLI_OPT_S3_REGION},                  \
    {"s3-profile", required_argument, NULL, CLI_OPT_S3_PROFILE},                \
    {"s3-ca-file", required_argument, NULL, CLI_OPT_S3_CA_FILE},                \
    {"s3-addressing", required_argument, NULL, CLI_OPT_S3_ADDRESSING},          \
    {"s3-storage-class", required_argument, NULL, CLI_OPT_S3_STORAGE_CLASS},    \
    {"s3-sse", required_argument, NULL, CLI_OPT_S3_SSE},                        \
    {"s3-sse-kms-key-id", required_argument, NULL, CLI_OPT_S3_SSE_KMS_KEY_ID},  \
    {"part-size", required_argument, NULL, CLI_OPT_PART_SIZE},                  \
    {"parallel", required_argument, NULL, CLI_OPT_PARALLEL}

/* Applies one object-store option to o (its strings borrowed from argv):
 * 1 if it was one, 0 if not, -1 with err set when its argument is bad. */
int cli_objstore_option(int opt, const char *arg, rs_objstore_options *o, rs_err *err);

#define CLI_OBJSTORE_OPTIONS_HELP                                                       \
    "\nArchives at URLs (docs/storage.md): s3://BUCKET/DIR/NAME, file:///DIR/NAME.\n"   \
    "S3 credentials come from $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY (and\n"    \
    "$AWS_SESSION_TOKEN), else ~/.aws/credentials ($AWS_SHARED_CREDENTIALS_FILE).\n"   \
    "  --s3-endpoint URL      the S3 service ($AWS_ENDPOINT_URL_S3,\n"                  \
    "                         $AWS_ENDPOINT_URL; default AWS's for the region)\n"      \
    "  --s3-region NAME       ($AWS_REGION, $AWS_DEFAULT_REGION; us-east-1)\n"         \
    "  --s3-profile NAME      the credentials file's profile ($AWS_PROFILE;\n"         \
    "                         default)\n"                                               \
    "  --s3-ca-file FILE      CA certificates for HTTPS (default the system's)\n"      \
    "  --s3-addressing MODE   auto (virtual-hosted on AWS, path-style\n"               \
    "                         elsewhere), path or virtual\n"                           \
    "  --s3-storage-class C   the storage class of new objects (STANDARD_IA, ...)\n"   \
    "  --s3-sse MODE          server-side encryption: AES256 or aws:kms\n"             \
    "  --s3-sse-kms-key-id ID the KMS key of aws:kms\n"                                \
    "  --part-size SIZE       multipart part and download range (16M)\n"               \
    "  --parallel N           parts or ranges in flight (4)\n"

/* Applies one pruning option to p: 1 if it was one, 0 if not, -1 with err
 * set when its argument is bad. Numbers without --pruning mean custom. */
int cli_prune_option(int opt, const char *arg, rs_store_prune_policy *p, rs_err *err);

/* Help text for the options above, for the commands' help pages. */
extern const char cli_store_options_help[];
extern const char cli_common_options_help[];

/* Where a command's database is and how to open it. */
struct cli_store_args {
    const char     *db;
    rs_store_config cfg;
    char            tier_paths[RS_STORE_MAX_TIERS][PATH_MAX];
};

/* Handles one of the shared options. Returns 1 if it was one (applied), 0 if
 * not, or -1 with err set when its argument is bad. store may be NULL for
 * commands without a database. */
int cli_option(int opt, const char *arg, struct cli_store_args *store, rs_err *err);

/* A command's handler for its own options: returns RS_OK or an error. */
typedef rs_code (*cli_own_option_fn)(int opt, const char *arg, void *ctx, rs_err *err);

/* Parses argv with getopt_long: the shared options into store (may be NULL),
 * the command's own through own(ctx). On RS_OK the positional arguments are
 * argv[optind..argc). --help prints the help page and sets *help_shown; the
 * command then returns RS_OK. */
rs_code cli_parse_args(const struct cli_cmd *cmd, int argc, char **argv, const struct option *longopts,
                       struct cli_store_args *store, cli_own_option_fn own, void *ctx, int *help_shown,
                       rs_err *err);

/* Reports a bad command line. */
rs_code cli_usage_error(const struct cli_cmd *cmd, rs_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- config files (cli_config.c) ------------------------------------ */

/* Values read from a config file; they live until cli_config_release. */
struct cli_config {
    const char *path;             /* the file read, or NULL */
    struct config_value *values;  /* private */
};

/* The FILE of "--config FILE" or "--config=FILE" in argv, or NULL. */
const char *cli_config_path(int argc, char **argv);

/* Applies the INI file at path: each key is one of longopts' names and its
 * value goes through cli_option() and own(), exactly as the flag would.
 * Keys before any section or in a [<command name>] section are read, other
 * sections skipped. Options without an argument take yes/no. Call it
 * before cli_parse_args() so that flags win. Errors name the file, line
 * and key. */
rs_code cli_config_load(const char *path, const struct cli_cmd *cmd, const struct option *longopts,
                        struct cli_store_args *store, cli_own_option_fn own, void *ctx, struct cli_config *cfg,
                        rs_err *err);
void cli_config_release(struct cli_config *cfg);

/* Opens the database the arguments name. */
rs_code cli_store_open(struct cli_store_args *a, rs_store **out, rs_err *err);

/* "64M", "1G", "4096": bytes (binary units). "2M", "10k": counts (decimal). */
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_count(const char *s, uint64_t *out);
int cli_parse_int(const char *s, long min, long max, long *out);

/* Prints the database's statistics as "name: value" lines (cmd_stat.c). */
rs_code cli_print_stats(FILE *f, rs_store *store, rs_err *err);

/* Prints the help page of cmd to f. */
void cli_print_help(FILE *f, const struct cli_cmd *cmd);

/* ---- progress on a terminal (cli_progress.c) ------------------------ */

struct cli_progress {
    const char *what;       /* "loaded" */
    const char *unit;       /* "keys" */
    uint64_t    total;      /* items expected, 0 if unknown */
    uint64_t    start_ns;
    uint64_t    last_ns;
    int         active;     /* stderr is a terminal */
};

void cli_progress_begin(struct cli_progress *p, const char *what, const char *unit, uint64_t total);
/* Redraws the line at most 4 times a second. */
void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t bytes);
void cli_progress_end(struct cli_progress *p);

/* ---- keys for sealing and unsealing (cli_key.c) --------------------- */

#define CLI_PASSPHRASE_ENV "ROCKSTREAM_PASSPHRASE"

struct cli_key_args {
    const char *key_file;  /* --key FILE */
    int         passphrase; /* --passphrase */
};

#define CLI_KEY_OPTIONS_HELP                                                    \
    "  --key FILE             the key file (rockstream keygen); a public key\n" \
    "                         file (.pub) can seal but not unseal\n"            \
    "  --passphrase           use a passphrase instead, from\n"                 \
    "                         $" CLI_PASSPHRASE_ENV " or asked on the terminal\n"

/* Loads the key the arguments name; a passphrase comes from the
 * environment or the terminal (asked twice when confirm is set). Refuses
 * "no key" with a hint: archives are always encrypted. */
rs_code cli_key_load(const struct cli_key_args *a, int confirm, rs_snapshot_key **out, rs_err *err);

/* ---- the daemons, serve and follow (cli_daemon.c) -------------------- */

/* Options serve and follow share: where the Redis port listens, how it is
 * locked down, and replication. Numbered apart from the other lists. */
enum cli_daemon_opt {
    CLI_OPT_LISTEN = 0x400,
    CLI_OPT_PORT_FILE,
    CLI_OPT_REQUIREPASS_FILE,
    CLI_OPT_REQUIREPASS,
    CLI_OPT_TLS_PORT,
    CLI_OPT_TLS_CERT_FILE,
    CLI_OPT_TLS_KEY_FILE,
    CLI_OPT_TLS_CA_CERT_FILE,
    CLI_OPT_RENAME_COMMAND,
    CLI_OPT_REPL_LISTEN,
    CLI_OPT_REPL_KEY,
    CLI_OPT_REPL_ENCRYPT,
    CLI_OPT_RESYNC_RATE,
};

#define CLI_DAEMON_LONGOPTS                                                     \
    {"listen", required_argument, NULL, CLI_OPT_LISTEN},                        \
    {"port-file", required_argument, NULL, CLI_OPT_PORT_FILE},                  \
    {"requirepass-file", required_argument, NULL, CLI_OPT_REQUIREPASS_FILE},    \
    {"requirepass", required_argument, NULL, CLI_OPT_REQUIREPASS},              \
    {"tls-port", required_argument, NULL, CLI_OPT_TLS_PORT},                    \
    {"tls-cert-file", required_argument, NULL, CLI_OPT_TLS_CERT_FILE},          \
    {"tls-key-file", required_argument, NULL, CLI_OPT_TLS_KEY_FILE},            \
    {"tls-ca-cert-file", required_argument, NULL, CLI_OPT_TLS_CA_CERT_FILE},    \
    {"rename-command", required_argument, NULL, CLI_OPT_RENAME_COMMAND},        \
    {"repl-listen", required_argument, NULL, CLI_OPT_REPL_LISTEN},              \
    {"repl-key", required_argument, NULL, CLI_OPT_REPL_KEY},                    \
    {"repl-encrypt", no_argument, NULL, CLI_OPT_REPL_ENCRYPT},                  \
    {"resync-rate", required_argument, NULL, CLI_OPT_RESYNC_RATE}

/* A daemon's arguments: its database, the server's config, and the files
 * its secrets come from. */
struct cli_daemon_args {
    struct cli_store_args store;
    rs_server_config server;
    const char *config_path;      /* the --config file read, or NULL */
    const char *repl_key_file;    /* --repl-key */
    const char *password_file;    /* --requirepass-file */
    const char *password;         /* requirepass, from the config file */
    int         on_command_line;  /* options now come from argv */
    struct cli_key_args key;      /* serve: what SNAPSHOT seals with */
    char        renames[RS_SERVER_MAX_RENAMES][2][32];
};

/* Applies one of the shared options. RS_E_NOTFOUND if opt is not one. */
rs_code cli_daemon_option(int opt, const char *arg, struct cli_daemon_args *d, rs_err *err);

/* Runs the daemon until SIGTERM or SIGINT: reads its secrets (snapshot
 * key, password, replication key) and checks the server's config before
 * the database is opened (a primary's here; a follower opens its own),
 * then serves. */
rs_code cli_daemon_run(struct cli_daemon_args *d, rs_err *err);

/* Help text for the shared security options. */
#define CLI_DAEMON_SECURITY_HELP                                                    \
    "Security (docs/server.md, Security):\n"                                         \
    "  --requirepass-file FILE  clients must AUTH with the password in FILE\n"      \
    "                         (readable by its owner only); in a config file,\n"    \
    "                         requirepass = PASSWORD (the file must then be\n"       \
    "                         readable by its owner only). Without a password,\n"   \
    "                         only loopback addresses may be listened on\n"         \
    "  --tls-port [HOST:]PORT also serve TLS there (on the host of --listen when\n" \
    "                         only a port is given; port 0 picks a free one)\n"     \
    "  --tls-cert-file FILE   the TLS certificate chain (PEM)\n"                    \
    "  --tls-key-file FILE    its private key (PEM, readable by its owner only)\n"  \
    "  --tls-ca-cert-file FILE  TLS clients must present a certificate this CA\n"   \
    "                         signed\n"                                              \
    "  --rename-command NAME=NEW  rename an administrative command (SNAPSHOT,\n"   \
    "                         REPLICAOF, SLAVEOF, DEBUG); NAME= disables it;\n"     \
    "                         repeatable\n"

/* ---- bytes as arguments and output (cli_bytes.c) -------------------- */

/* Decodes a hex string into a new buffer (caller frees). -1 if not hex. */
int cli_hex_decode(const char *hex, uint8_t **out, size_t *out_len);
/* Writes p to f, escaping bytes that are not printable ASCII as \xHH (and
 * backslash as \\), so binary keys print on one line. */
void cli_write_escaped(FILE *f, const uint8_t *p, size_t len);
void cli_write_hex(FILE *f, const uint8_t *p, size_t len);

#endif
