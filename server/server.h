/**
 * @file server/server.h
 * @brief The Redis-protocol server: a database served over RESP2.
 *
 * An rs_server serves one database to Redis clients (redis-cli, client
 * libraries) as a primary, which may ship its writes to followers, or as
 * a follower of another primary, serving reads. It answers a write only
 * once the write is as durable as the store's sync policy says, and it is
 * locked down as a production Redis is: a password (AUTH), loopback only
 * without one, TLS, SNAPSHOT confined to a directory, and administrative
 * commands that can be renamed or disabled (docs/server.md).
 *
 * Threads: rs_server_run runs on the calling thread until rs_server_stop,
 * which any thread or a signal handler may call. TLS writes can raise
 * SIGPIPE on a client that hung up: a program that serves TLS ignores
 * SIGPIPE (rockstream serve does).
 */
#ifndef RS_SERVER_H
#define RS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/api.h"
#include "common/err.h"
#include "common/metrics.h"
#include "snapshot/snapshot.h"
#include "store/store.h"
#include "wal/wal.h"

/** The most commands one configuration renames or disables. */
#define RS_SERVER_MAX_RENAMES 16

/** An administrative command renamed (as Redis's rename-command). */
typedef struct rs_server_rename {
    const char *name; /**< SNAPSHOT, REPLICAOF, SLAVEOF or DEBUG, any case */
    const char *to;   /**< its new name, or "" to disable it */
} rs_server_rename;

/**
 * How a server runs. A plain struct: zero means default
 * (rs_server_config_resolve fills them in). Strings and buffers are
 * borrowed: they must outlive the rs_server made from the config.
 */
typedef struct rs_server_config {
    /* the database */
    const char            *db_path;   /**< the database directory (a follower opens or bootstraps it) */
    const rs_store_config *store_cfg; /**< how a follower opens it; NULL: defaults */
    /* the Redis port */
    const char *listen;             /**< "HOST:PORT", "[v6]:PORT"; default 127.0.0.1:6379; port 0 picks one */
    const char *port_file;          /**< write the bound address(es) here once listening */
    uint64_t    max_bulk;           /**< longest key or value; default 512 MiB (Redis) */
    uint64_t    max_args;           /**< most arguments per request; default 1M (Redis) */
    uint64_t    max_request;        /**< most bytes of one request; default 1 GiB */
    uint64_t    max_output;         /**< unsent reply bytes before a disconnect; default 64 MiB */
    uint64_t    max_clients;        /**< default 10000 (Redis) */
    uint64_t    idle_timeout_s;     /**< 0: never close an idle client (Redis's default) */
    uint64_t    shutdown_timeout_s; /**< how long a shutdown waits for replies; default 10 */
    int         read_only;          /**< answer writes with -READONLY */
    const char *config_file;        /**< shown by INFO server */
    /* security (docs/server.md, Security) */
    const uint8_t *password;        /**< AUTH's password; NULL: none, and then only
                                         loopback addresses may be listened on */
    size_t         password_len; /**< its length in bytes */
    const char *tls_port;           /**< "PORT" (on listen's host) or "HOST:PORT":
                                         serve TLS there too; NULL: no TLS */
    const char *tls_cert_file;      /**< PEM certificate chain */
    const char *tls_key_file;       /**< PEM private key: readable by its owner only */
    const char *tls_ca_cert_file;   /**< if set, clients must present a certificate it signed */
    rs_server_rename renames[RS_SERVER_MAX_RENAMES]; /**< administrative commands renamed or disabled */
    size_t           n_renames;                      /**< how many of renames are used */
    /* SNAPSHOT */
    const rs_snapshot_key *snapshot_key; /**< what SNAPSHOT seals with; NULL: SNAPSHOT is refused */
    const char *snapshot_dir;       /**< where SNAPSHOT may write; NULL: the database's
                                         parent directory, absolute paths only */
    /* replication (docs/replication.md) */
    const rs_wal_key *repl_key;     /**< the pre-shared key; NULL: no replication */
    const char *repl_listen;        /**< accept followers here, or NULL */
    const char *primary;            /**< follow this primary ("HOST:PORT"), or NULL */
    int         repl_encrypt;       /**< ask for (follower) or require (primary) encryption */
    int         allow_discard;      /**< a follower may rebuild a diverged database */
    uint64_t    resync_rate;        /**< checkpoint bytes per second; 0: default */
    const char *name;               /**< a follower's name, shown on the primary */
} rs_server_config;

/** A server and the replication role it runs under. */
typedef struct rs_server rs_server;

/**
 * Fills in the defaults of a config's zero fields.
 * @param cfg  the config, changed in place
 */
RS_API void rs_server_config_resolve(rs_server_config *cfg);

/**
 * Checks a config and prepares what every run shares: the command table
 * with its renames, the TLS context (certificate and key loaded), the
 * password's digest, the SNAPSHOT directory, the replication role. It
 * refuses a listen address that is not loopback when no password is set
 * (protected mode), before anything is opened or bound.
 * @param cfg  the config (copied; its strings and buffers stay borrowed,
 *             except password, which is not kept)
 * @param out  the server, set on success
 * @param err  why it was refused
 * @return RS_OK, RS_E_INVALID for a bad or unsafe config, RS_E_AUTH for a
 *         key file others can read, RS_E_NOTFOUND or RS_E_IO for files
 */
RS_API rs_code rs_server_create(const rs_server_config *cfg, rs_server **out, rs_err *err);

/**
 * Serves until rs_server_stop: binds the listen addresses, runs the role
 * (shipping to followers, or following a primary), and restarts the
 * server on the same addresses when the role changes (REPLICAOF) or a
 * resync replaces a follower's database. Then sends the replies still
 * owed, closes every connection and the database.
 * @param s      the server
 * @param store  a primary's open database (taken: closed before this
 *               returns, even on failure); a follower's to resume (taken),
 *               or NULL for a follower to open or bootstrap db_path
 * @param err    why it stopped, when not asked to
 * @return RS_OK after rs_server_stop; the store's failure if a WAL fsync
 *         failed; RS_E_BUSY if an address is in use
 */
RS_API rs_code rs_server_run(rs_server *s, rs_store *store, rs_err *err);

/**
 * Asks rs_server_run to finish. Any thread; async-signal-safe.
 * @param s  the server
 */
RS_API void rs_server_stop(rs_server *s);

/**
 * Frees a server that is not running. NULL is allowed.
 * @param s  the server
 */
RS_API void rs_server_destroy(rs_server *s);

/**
 * The store's statistics (rs_store_stats) as a metrics table, for
 * `rockstream stat` and INFO; groups "persistence" and "store".
 * @param n  set to the number of rows
 * @return the table (static)
 */
RS_API const rs_metric *rs_server_store_metrics(size_t *n);

#endif
