/**
 * @file
 * wal: warm-standby replication. A primary ships every committed write
 * batch to its followers over an authenticated (optionally encrypted) TCP
 * connection; a follower applies them byte for byte, so its sequence
 * numbers, chain value and contents equal its primary's. A follower that
 * starts empty or falls behind the WAL its primary keeps is sent a
 * checkpoint over the same connection first. docs/replication.md explains
 * the design, docs/format.md specifies the frame and the protocol.
 *
 * Every message after the handshake is authenticated both ways (a MAC, or
 * sealed when encrypted): docs/replication.md, "Security". Every consumer
 * of the WAL (a follower's session, the WAL archiver) reads it through a
 * WAL tail (rs_wal_tail below).
 *
 * Threads: the primary runs a listener thread, which also runs every
 * handshake (an unauthenticated peer gets no thread of its own), and two
 * threads per authenticated follower ("rs-ship", "rs-acks"); a follower
 * runs "rs-follow" and "rs-ack". Every function here is safe to call from
 * any thread unless it says otherwise.
 */
#ifndef RS_WAL_H
#define RS_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/api.h"
#include "common/err.h"
#include "store/store.h"

/* ------------------------------------------------------------------ */
/* Frames (frame.c): one format on the wire and in archived segments   */
/* ------------------------------------------------------------------ */

/* Wire constants: changing any of them breaks every peer and every
 * archived segment already written. docs/format.md is the spec. */
#define RS_WAL_FRAME_MAGIC        0x46575352u /**< "RSWF" little-endian */
#define RS_WAL_FRAME_VERSION      2           /**< 2: the versioned-state field */
#define RS_WAL_FRAME_HEADER_BYTES 80          /**< bytes of a frame header */
#define RS_WAL_FRAME_MAX_PAYLOAD  (64u * 1024 * 1024) /**< longest payload accepted */
#define RS_WAL_CHAIN_BYTES        RS_STORE_CHAIN_BYTES /**< bytes of a chain value */

/** Frame types. Append only. */
typedef enum rs_wal_frame_type {
    RS_WAL_FRAME_BATCH = 1,     /**< payload: the raw WriteBatch bytes */
    RS_WAL_FRAME_HELLO,         /**< protocol message (docs/format.md) */
    RS_WAL_FRAME_CHALLENGE,     /**< protocol message */
    RS_WAL_FRAME_AUTH,          /**< protocol message */
    RS_WAL_FRAME_IDENTIFY,      /**< protocol message */
    RS_WAL_FRAME_WELCOME,       /**< protocol message */
    RS_WAL_FRAME_REFUSE,        /**< protocol message */
    RS_WAL_FRAME_HEARTBEAT,     /**< protocol message */
    RS_WAL_FRAME_ACK,           /**< protocol message */
    RS_WAL_FRAME_CKPT_BEGIN,    /**< a checkpoint transfer starts */
    RS_WAL_FRAME_CKPT_DATA,     /**< part of the checkpoint's tar stream */
    RS_WAL_FRAME_CKPT_END,      /**< the transfer's length and hash */
    RS_WAL_FRAME__COUNT         /**< the number of types plus one (not a type) */
} rs_wal_frame_type;

/** A BATCH frame's flags, bits 0-1: what the batch does to the versioned
 * state, the rs_store_version_kind of its mark (1 commit, 2 rollback, 3
 * prune; 0 nothing). Every other bit is reserved and must be 0. */
#define RS_WAL_FRAME_FLAG_VERSION_KIND 0x0003u

/** A decoded frame. For control frames, flags, seq, count, time, version
 * and chain are zero. */
typedef struct rs_wal_frame {
    uint8_t        type;           /**< an rs_wal_frame_type */
    uint8_t        version;        /**< the frame format's version */
    uint16_t       flags;          /**< RS_WAL_FRAME_FLAG_VERSION_KIND */
    uint32_t       count;          /**< sequence numbers the batch consumes */
    uint64_t       first_seq;      /**< the batch's first sequence number */
    uint64_t       commit_time_ns; /**< wall clock, from the batch's stamp */
    uint8_t        chain[RS_WAL_CHAIN_BYTES]; /**< chain value after the batch */
    uint64_t       state_version;  /**< the latest version of the versioned state
                                        after the batch, when flags has a kind;
                                        else 0 */
    uint32_t       payload_len;    /**< bytes at payload */
    const uint8_t *payload;        /**< points into the buffer the frame was
                                        decoded from (borrowed from the caller) */
} rs_wal_frame;

/** Writes a frame's header, with the checksum over header and payload.
 * @param f   the frame (payload_len and payload taken from it)
 * @param out receives the header */
RS_API void rs_wal_frame_encode_header(const rs_wal_frame *f, uint8_t out[RS_WAL_FRAME_HEADER_BYTES]);

/** Decodes and checks a header: magic, version, type, payload length
 * (bounded before anyone allocates), flags. The checksum needs the
 * payload: see rs_wal_frame_check.
 * @param hdr the header's bytes
 * @param len their length (at least RS_WAL_FRAME_HEADER_BYTES)
 * @param f   receives the fields (payload not set)
 * @param err why it failed
 * @return RS_OK; RS_E_CORRUPT (bad magic, unknown type, length over the
 *         limit, reserved flags), RS_E_VERSION */
RS_API rs_code rs_wal_frame_decode_header(const uint8_t *hdr, size_t len, rs_wal_frame *f, rs_err *err);

/** Checks the checksum of a decoded header against its payload and sets
 * f->payload.
 * @param hdr     the header's bytes
 * @param f       the frame rs_wal_frame_decode_header filled
 * @param payload f->payload_len bytes (borrowed into f)
 * @param err     why it failed
 * @return RS_OK; RS_E_CORRUPT ("checksum mismatch") */
RS_API rs_code rs_wal_frame_check(const uint8_t hdr[RS_WAL_FRAME_HEADER_BYTES], rs_wal_frame *f,
                                  const uint8_t *payload, rs_err *err);

/** Decodes one whole frame at the start of buf.
 * @param buf  the bytes (the payload is borrowed into f)
 * @param len  their length
 * @param f    receives the frame
 * @param used receives the frame's size
 * @param err  why it failed
 * @return as rs_wal_frame_decode_header and rs_wal_frame_check;
 *         RS_E_CORRUPT when buf holds less than a whole frame */
RS_API rs_code rs_wal_frame_decode(const uint8_t *buf, size_t len, rs_wal_frame *f, size_t *used, rs_err *err);

/** Fills a BATCH frame from a batch read from a store's WAL: stamp and
 * chain taken from its records, the versioned-state kind and version from
 * its versions record (rs_store_batch_version).
 * @param store     the database the batch comes from
 * @param first_seq the batch's first sequence number
 * @param rep       the raw WriteBatch bytes (borrowed into f->payload)
 * @param len       their length
 * @param f         receives the frame
 * @param err       why it failed
 * @return RS_OK; RS_E_CORRUPT (not a batch), RS_E_UNSUPPORTED (over the
 *         payload limit) */
RS_API rs_code rs_wal_frame_from_batch(rs_store *store, uint64_t first_seq, const uint8_t *rep, size_t len,
                                       rs_wal_frame *f, rs_err *err);

/* ------------------------------------------------------------------ */
/* The WAL tail (tail.c): committed batches as frames, for every consumer */
/* ------------------------------------------------------------------ */

/**
 * @brief One consumer's reader of a store's committed batches, in order,
 * each as a BATCH frame.
 *
 * The replication shipper opens one per follower; the WAL archiver opens
 * one for itself. Two kinds of consumers, one contract:
 *  - a tail is read (rs_wal_tail_next, rs_wal_tail_wait) by one thread at
 *    a time, the consumer's own;
 *  - its pin, the oldest sequence the consumer still needs, is moved with
 *    rs_wal_tail_release from any thread, and only when the consumer no
 *    longer needs what is before: a follower's session moves it when the
 *    follower acknowledges (it resumes from there after a reconnect), the
 *    archiver once a segment is safely uploaded (it may have to read its
 *    batches again until then). Reading does not move it.
 *
 * While the tail is open the store keeps the archived WAL from the pin on
 * past wal_keep_seconds, but never past wal_keep_bytes (store.h,
 * rs_store_wal_pin): a consumer that falls that far behind finds a gap and
 * must start again from a checkpoint or backup. Nearing the budget, the
 * tail logs a warning naming the consumer (at most once a minute).
 */
typedef struct rs_wal_tail rs_wal_tail;

/**
 * @brief Opens a tail whose first batch starts exactly at from_seq, and
 * pins the WAL from there.
 * @param store the database; borrowed, must outlive the tail
 * @param from_seq the first sequence wanted (1 or more)
 * @param name who reads, for logs ("follower-a", "archiver"); copied
 * @param out the tail, closed with rs_wal_tail_close
 * @param err filled on failure
 * @return RS_OK, RS_E_INVALID (from_seq 0), RS_E_NOMEM
 */
RS_API rs_code rs_wal_tail_open(rs_store *store, uint64_t from_seq, const char *name, rs_wal_tail **out,
                                rs_err *err);

/**
 * @brief The next batch as a BATCH frame (rs_wal_frame_from_batch).
 * @param tail the tail
 * @param frame filled; its payload is borrowed until the next call or close
 * @param err filled on failure
 * @return RS_OK; RS_E_NOTFOUND when no newer batch is committed yet (err
 * untouched: rs_wal_tail_wait, then call again); RS_E_GAP when the WAL no
 * longer holds the next batch, or it was written unchained (the chain
 * cannot be continued from it); RS_E_CORRUPT when the position falls inside
 * a batch (whoever stands there holds other batches than this database);
 * the store's errors otherwise. After an error other than RS_E_NOTFOUND
 * the consumer starts again from a checkpoint or backup.
 */
RS_API rs_code rs_wal_tail_next(rs_wal_tail *tail, rs_wal_frame *frame, rs_err *err);

/**
 * @brief Waits until a batch past the tail's position is committed, or
 * timeout_ms passes. Writers wake it: no polling.
 * @param tail the tail
 * @param timeout_ms how long at most
 * @return the store's latest sequence
 */
RS_API uint64_t rs_wal_tail_wait(rs_wal_tail *tail, uint32_t timeout_ms);

/**
 * @brief The sequence the next batch starts at.
 * @param tail the tail
 * @return the position
 */
RS_API uint64_t rs_wal_tail_position(const rs_wal_tail *tail);

/**
 * @brief The chain value after the last batch returned: what a segment of
 * frames ending there carries, what a follower there holds.
 * @param tail the tail
 * @param seq the sequence the chain stands at (from_seq - 1 before the
 * first batch, then the last batch's last sequence)
 * @param chain its value (zeros before the first batch)
 */
RS_API void rs_wal_tail_chain(const rs_wal_tail *tail, uint64_t *seq, uint8_t chain[RS_WAL_CHAIN_BYTES]);

/**
 * @brief Moves the tail's pin forward: the consumer no longer needs the
 * batches before seq. Never moves back. Safe from any thread.
 * @param tail the tail
 * @param seq the oldest sequence still needed
 */
RS_API void rs_wal_tail_release(rs_wal_tail *tail, uint64_t seq);

/**
 * @brief The oldest sequence the tail's pin holds.
 * @param tail the tail
 * @return the pinned sequence
 */
RS_API uint64_t rs_wal_tail_pinned(const rs_wal_tail *tail);

/**
 * @brief Closes the tail and releases its pin.
 * @param tail the tail (NULL allowed)
 */
RS_API void rs_wal_tail_close(rs_wal_tail *tail);

/* ------------------------------------------------------------------ */
/* The pre-shared replication key (keyfile.c)                          */
/* ------------------------------------------------------------------ */

/** Bytes of a replication key. */
#define RS_WAL_KEY_BYTES 32

/** The pre-shared key primary and followers prove to each other. */
typedef struct rs_wal_key {
    uint8_t bytes[RS_WAL_KEY_BYTES]; /**< the secret */
} rs_wal_key;

/** Makes a new random key and writes it to a file holding one line of
 * text, atomically, with mode 0600, never over an existing file.
 * @param path where
 * @param err  why it failed
 * @return RS_OK; RS_E_EXISTS, RS_E_IO */
RS_API rs_code rs_wal_key_create_file(const char *path, rs_err *err);

/** Reads a key file.
 * @param path the file: not a symbolic link, private to its owner
 * @param out  receives the key
 * @param err  why it failed (never the key)
 * @return RS_OK; RS_E_NOTFOUND, RS_E_INVALID (not a key file, a symbolic
 *         link), RS_E_AUTH (accessible by group or others: a key must be
 *         private), RS_E_IO */
RS_API rs_code rs_wal_key_read(const char *path, rs_wal_key *out, rs_err *err);

/* ------------------------------------------------------------------ */
/* History ids (history.c): a term that changes on promotion           */
/* ------------------------------------------------------------------ */

/** Bytes of a history id. */
#define RS_WAL_HISTORY_BYTES 16

/** The database's current history id (its database id until its first
 * promotion).
 * @param store the database
 * @param out   receives the id
 * @param err   why it failed
 * @return RS_OK, or the store's error */
RS_API rs_code rs_wal_history_current(rs_store *store, uint8_t out[RS_WAL_HISTORY_BYTES], rs_err *err);

/* ------------------------------------------------------------------ */
/* The primary (shipper.c)                                             */
/* ------------------------------------------------------------------ */

/** A primary serving followers. Opaque. */
typedef struct rs_wal_primary rs_wal_primary;

/** How a primary serves. Plain struct: zero means default. */
typedef struct rs_wal_primary_config {
    const char *listen_addr;        /**< "host:port", port 0 picks a free one; borrowed */
    rs_wal_key  key;                /**< the pre-shared key followers must prove */
    int         require_encryption; /**< refuse followers that do not ask for it */
    uint32_t    heartbeat_ms;       /**< default 500 */
    uint32_t    timeout_ms;         /**< a silent follower is dropped after, default 5000 */
    uint32_t    send_deadline_ms;   /**< a follower that takes no bytes for this long is
                                         dropped, default 5000 */
    uint64_t    queue_bytes;        /**< per-follower send queue, default 4 MiB */
    uint64_t    resync_bytes_per_sec; /**< checkpoint transfer rate, default 100 MiB/s */
    uint32_t    max_followers;      /**< default 16 */
    uint32_t    max_handshakes;     /**< connections authenticating at once; more are
                                         closed at once, default 32 */
    uint32_t    handshake_ms;       /**< an unauthenticated connection is closed after,
                                         default 2000 */
    const char *work_dir;           /**< checkpoints for resyncs; default "<db>.repl" */
    /** Called from a replication thread whenever acks move (or a follower
     * comes or goes): how an event loop is woken to finish its WAITs.
     * Must not block. NULL: none (use rs_wal_primary_ack_fd instead). */
    void      (*acked_fn)(void *arg);
    void       *acked_arg;          /**< passed to acked_fn */
} rs_wal_primary_config;

/** Starts listening and serving followers of a store. Turns the store's
 * chaining on first (rs_store_set_chained: every write from then on is
 * chained, at the cost store.h describes); stopping the primary leaves it
 * on, so followers resume when it starts again.
 * @param store the database, which must outlive the primary
 * @param cfg   how to serve (copied; its strings borrowed during the call)
 * @param out   receives the primary (stop it)
 * @param err   why it failed
 * @return RS_OK; RS_E_INVALID (bad address), RS_E_NETWORK (cannot bind) */
RS_API rs_code rs_wal_primary_start(rs_store *store, const rs_wal_primary_config *cfg, rs_wal_primary **out,
                                    rs_err *err);

/** Disconnects every follower, joins every thread and frees the primary.
 * @param p the primary; NULL allowed */
RS_API void rs_wal_primary_stop(rs_wal_primary *p);

/** The port the primary listens on.
 * @param p the primary
 * @return the port (the one picked when the address said 0) */
RS_API uint16_t rs_wal_primary_port(const rs_wal_primary *p);

/** Where a follower connection stands. */
typedef enum rs_wal_peer_state {
    RS_WAL_PEER_HANDSHAKE = 0, /**< proving keys, comparing histories */
    RS_WAL_PEER_CHECKPOINT,    /**< being sent a checkpoint */
    RS_WAL_PEER_STREAMING,     /**< being sent batches as they commit */
} rs_wal_peer_state;

/** One connected follower, as its primary sees it. */
typedef struct rs_wal_follower_info {
    char     name[64];       /**< the follower's name, or its address */
    char     addr[64];       /**< its address */
    rs_wal_peer_state state; /**< where its connection stands */
    uint64_t sent_seq;       /**< the last sequence sent */
    uint64_t acked_seq;      /**< the last sequence it applied */
    uint64_t acked_version;  /**< the versioned state's latest version it has applied (0: none) */
    uint64_t durable_seq;    /**< the last sequence it fsync'd */
    uint64_t lag_seqs;       /**< primary's latest - acked */
    uint64_t lag_ms;         /**< age of the oldest batch it has not acked, 0 if none */
} rs_wal_follower_info;

/** Lists the connected followers.
 * @param p   the primary
 * @param out receives up to max entries
 * @param max room in out
 * @return how many followers are connected (may exceed max) */
RS_API size_t rs_wal_primary_followers(rs_wal_primary *p, rs_wal_follower_info *out, size_t max);

/** A primary's counters since it started. */
typedef struct rs_wal_primary_stats {
    uint64_t n_connected;    /**< followers connected now */
    uint64_t n_accepted;     /**< handshakes completed since start */
    uint64_t n_refused;      /**< handshakes refused (key, database, history) */
    uint64_t n_checkpoints;  /**< checkpoints sent */
    uint64_t n_divergences;  /**< acks whose chain differed */
    uint64_t n_slow_drops;   /**< followers dropped for missing the send deadline */
    uint64_t n_unauth_dropped; /**< connections closed before authenticating: too many
                                    at once, too slow, or not speaking the protocol */
    uint64_t n_auth_failures;  /**< sessions ended by a message that failed
                                    authentication (changed, replayed, reordered or
                                    dropped in transit: possible tampering) */
    uint64_t frames_sent;    /**< frames sent to all followers */
    uint64_t bytes_sent;     /**< bytes sent to all followers */
} rs_wal_primary_stats;

/** Reads the primary's counters.
 * @param p   the primary
 * @param out receives them */
RS_API void rs_wal_primary_stats_get(rs_wal_primary *p, rs_wal_primary_stats *out);

/** How many followers have applied every batch up to a sequence.
 * @param p   the primary
 * @param seq the sequence
 * @return the number of followers */
RS_API int rs_wal_primary_count_acked(rs_wal_primary *p, uint64_t seq);

/** Redis's WAIT for a thread: blocks until enough followers applied seq.
 * @param p          the primary
 * @param seq        the sequence
 * @param n          how many followers to wait for
 * @param timeout_ms how long at most (0: do not wait)
 * @return how many followers applied seq */
RS_API int rs_wal_primary_wait(rs_wal_primary *p, uint64_t seq, int n, uint64_t timeout_ms);

/** WAIT for an event loop: a file descriptor that becomes readable
 * whenever a follower's acknowledged sequence advances (or one
 * disconnects). The loop drains it with rs_wal_primary_ack_fd_drain, then
 * re-checks its pending waits with rs_wal_primary_count_acked and handles
 * its own timeouts.
 * @param p the primary
 * @return the descriptor, borrowed: valid until rs_wal_primary_stop */
RS_API int rs_wal_primary_ack_fd(const rs_wal_primary *p);

/** Empties the descriptor rs_wal_primary_ack_fd returned.
 * @param p the primary */
RS_API void rs_wal_primary_ack_fd_drain(rs_wal_primary *p);

/* ------------------------------------------------------------------ */
/* The follower (follower.c, apply.c, install.c)                      */
/* ------------------------------------------------------------------ */

/** A follower applying its primary's batches. Opaque. */
typedef struct rs_wal_follower rs_wal_follower;

/** How a follower follows. Plain struct: zero means default. */
typedef struct rs_wal_follower_config {
    const char     *db_path;        /**< borrowed during start; an empty or absent
                                         directory is bootstrapped from the primary */
    rs_store_config store_cfg;      /**< how to open it (create_if_missing ignored) */
    const char     *primary_addr;   /**< "host:port"; borrowed during start */
    rs_wal_key      key;            /**< the pre-shared key */
    int             encrypt;        /**< ask for an encrypted session */
    const char     *name;           /**< shown on the primary; default the host name */
    uint32_t        heartbeat_ms;   /**< default 500 */
    uint32_t        timeout_ms;     /**< a silent primary is dropped after, default 5000 */
    uint32_t        retry_ms;       /**< first reconnect delay (doubles to 5 s), default 100 */
    int             allow_discard;  /**< a database the primary refuses as diverged
                                         may be discarded and rebuilt by checkpoint */
    /** Called on the applying thread after each batch (metrics, lag
     * histograms); must not block. NULL: none. */
    void (*applied_fn)(void *arg, uint64_t last_seq, uint64_t commit_time_ns);
    void           *applied_arg;    /**< passed to applied_fn */
    /** Called on the follower's thread when a resync is about to replace
     * the database: whoever holds it (rs_wal_follower_store_acquire) must
     * release it soon; the swap waits for that, and acquire blocks until
     * the new one is open. Must not block. NULL: none. */
    void (*swap_fn)(void *arg);
    void           *swap_arg;       /**< passed to swap_fn */
    /** Called on the follower's thread when it stops by itself (refused by
     * its primary, or failed; the status says why). Must not block. */
    void (*stopped_fn)(void *arg);
    void           *stopped_arg;    /**< passed to stopped_fn */
    /** An open database to follow with instead of opening db_path (a
     * primary demoted by REPLICAOF): taken, even on failure; it becomes a
     * replica. NULL: open db_path. */
    rs_store       *adopt_store;
} rs_wal_follower_config;

/** Where a follower stands. */
typedef enum rs_wal_follower_state {
    RS_WAL_FOLLOWER_CONNECTING = 0, /**< connecting or reconnecting */
    RS_WAL_FOLLOWER_BOOTSTRAPPING,  /**< receiving a checkpoint */
    RS_WAL_FOLLOWER_STREAMING,      /**< applying batches as they come */
    RS_WAL_FOLLOWER_REFUSED,        /**< stopped: the primary refused it (see the error) */
    RS_WAL_FOLLOWER_FAILED,         /**< stopped: cannot go on (see the error) */
    RS_WAL_FOLLOWER_STOPPED,        /**< promoted or stopped */
} rs_wal_follower_state;

/** A follower's state and counters. */
typedef struct rs_wal_follower_status {
    rs_wal_follower_state state; /**< where it stands */
    uint64_t applied_seq;     /**< the last sequence applied */
    uint64_t applied_version; /**< the versioned state's latest version it has applied (0: none) */
    uint64_t primary_seq;     /**< the primary's latest, as last heard */
    uint64_t lag_ms;          /**< now - commit time of the last batch applied, when behind */
    uint64_t n_connects;      /**< connections made */
    uint64_t n_resyncs;       /**< checkpoints installed */
    uint64_t n_divergences;   /**< batches refused because the chain differed */
    uint64_t n_auth_failures; /**< connections ended by a message that failed
                                   authentication (possible tampering: retried) */
    uint64_t n_local_errors;  /**< connections ended by its own database failing
                                   to write (a full disk: retried, no resync) */
    uint8_t  history[RS_WAL_HISTORY_BYTES]; /**< the history id it follows */
    rs_err   last_error;      /**< why it last disconnected or stopped */
} rs_wal_follower_status;

/** Opens (or bootstraps) the database and starts following. The database
 * is a replica: it takes the primary's batches only.
 * @param cfg how to follow (copied; its strings borrowed during the call)
 * @param out receives the follower (stop it)
 * @param err why it failed
 * @return RS_OK; RS_E_INVALID, and the store's errors for an existing
 *         database */
RS_API rs_code rs_wal_follower_start(const rs_wal_follower_config *cfg, rs_wal_follower **out, rs_err *err);

/** Stops following and closes the database.
 * @param f the follower; NULL allowed */
RS_API void rs_wal_follower_stop(rs_wal_follower *f);

/** Reads the follower's state and counters.
 * @param f   the follower
 * @param out receives them */
RS_API void rs_wal_follower_status_get(rs_wal_follower *f, rs_wal_follower_status *out);

/** Read access to the follower's database: between acquire and release
 * the store stays open (a resync waits).
 * @param f the follower
 * @return the store, borrowed until rs_wal_follower_store_release; NULL
 *         while none is open (bootstrapping) */
RS_API rs_store *rs_wal_follower_store_acquire(rs_wal_follower *f);

/** Ends the access rs_wal_follower_store_acquire began.
 * @param f the follower */
RS_API void rs_wal_follower_store_release(rs_wal_follower *f);

/** Waits until the follower has a database (bootstrapped), or stopped
 * (refused, failed).
 * @param f          the follower
 * @param timeout_ms how long at most
 * @return 1 if it has a database, else 0 */
RS_API int rs_wal_follower_wait_store(rs_wal_follower *f, uint64_t timeout_ms);

/** Waits until the follower applied a sequence.
 * @param f          the follower
 * @param seq        the sequence
 * @param timeout_ms how long at most
 * @return its applied sequence */
RS_API uint64_t rs_wal_follower_wait_applied(rs_wal_follower *f, uint64_t seq, uint64_t timeout_ms);

/** Promotion: stops following, turns the database's chaining on (it is a
 * primary now), gives it a new history id (a write, the first of the new
 * history) and hands it over writable. The follower is destroyed.
 * @param f         the follower: destroyed, whatever the result
 * @param store_out receives the database, the caller's to close
 * @param err       why it failed
 * @return RS_OK; RS_E_UNSUPPORTED (no database yet: still bootstrapping) */
RS_API rs_code rs_wal_follower_promote(rs_wal_follower *f, rs_store **store_out, rs_err *err);

#endif
