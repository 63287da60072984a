/*
 * Private to wal/: the connection layer (sockets with deadlines, framing,
 * the bounded send queue, session encryption), the handshake messages, the
 * history record, and the checkpoint transfer, shared by the primary's
 * shipper and the follower's applier.
 */
#ifndef RS_WAL_INT_H
#define RS_WAL_INT_H

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "common/hex.h"
#include "wal/wal.h"

/* ---- sockets with deadlines (net.c) ----------------------------------- */

/* Splits "host:port" and resolves it. */
rs_code wal_net_listen(const char *addr, int *fd_out, uint16_t *port_out, rs_err *err);
rs_code wal_net_connect(const char *addr, uint32_t timeout_ms, int *fd_out, rs_err *err);
/* Waits up to timeout_ms for a connection; RS_E_TIMEOUT if none came. */
rs_code wal_net_accept(int lfd, uint32_t timeout_ms, int *fd_out, char *peer, size_t peer_cap, rs_err *err);
/* Sends or receives exactly len bytes before the deadline (monotonic ns). */
rs_code wal_net_send_all(int fd, const uint8_t *p, size_t len, uint64_t deadline_ns, rs_err *err);
rs_code wal_net_recv_all(int fd, uint8_t *p, size_t len, uint64_t deadline_ns, rs_err *err);
/* Receives what is there (at least a byte) before the deadline; -1 with
 * err set on failure. */
ssize_t wal_net_recv_some(int fd, uint8_t *p, size_t cap, uint64_t deadline_ns, rs_err *err);
uint64_t wal_deadline(uint32_t ms);

/* ---- session crypto (crypto.c) ---------------------------------------- */

#define WAL_NONCE_BYTES       32
#define WAL_PROOF_BYTES       32
#define WAL_MAC_KEY_BYTES     32
#define WAL_MAC_BYTES         16 /* the tag after each frame of an unencrypted session */
#define WAL_SEAL_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define WAL_HELLO_BYTES       (4 + WAL_NONCE_BYTES)
#define WAL_AUTH_MAX          (WAL_PROOF_BYTES + WAL_SEAL_HEADER_BYTES)
#define WAL_CHALLENGE_MAX     (2 + WAL_NONCE_BYTES + WAL_PROOF_BYTES + WAL_SEAL_HEADER_BYTES)

/* Which side computes: each side proves and sends with its own label, so
 * nothing can be reflected back. */
typedef enum wal_side { WAL_SIDE_PRIMARY = 0, WAL_SIDE_FOLLOWER = 1 } wal_side;

/* What both sides said before either proved anything: every proof and
 * session key is bound to it, so changing a nonce, the version or a flag
 * in transit makes the proofs fail. */
typedef struct wal_transcript {
    uint8_t hello[WAL_HELLO_BYTES];          /* HELLO's payload */
    uint8_t challenge[2 + WAL_NONCE_BYTES];  /* CHALLENGE's flags and nonce */
} wal_transcript;

/* proof = BLAKE2b-256 keyed with the pre-shared key over the side's label
 * and the transcript. */
void wal_crypto_proof(const rs_wal_key *key, wal_side side, const wal_transcript *t, uint8_t out[WAL_PROOF_BYTES]);
int wal_crypto_proof_ok(const rs_wal_key *key, wal_side side, const wal_transcript *t,
                        const uint8_t proof[WAL_PROOF_BYTES]);

/* How a session's messages are protected once authenticated: an
 * unencrypted session appends a MAC (keyed BLAKE2b over a message counter
 * and the frame) to every frame; an encrypted one seals every frame as a
 * secretstream message. Either way a message changed, replayed, reordered
 * or dropped fails. One key and one counter per direction. */
typedef enum wal_protect { WAL_PROTECT_NONE = 0, WAL_PROTECT_MAC, WAL_PROTECT_SEAL } wal_protect;

typedef struct wal_secure {
    wal_protect mode;
    crypto_secretstream_xchacha20poly1305_state tx, rx;   /* SEAL */
    uint8_t  mac_tx[WAL_MAC_KEY_BYTES], mac_rx[WAL_MAC_KEY_BYTES]; /* MAC */
    uint64_t n_tx, n_rx;                                   /* messages sent, received */
} wal_secure;

/* Sets up the sending direction of side me (the mode follows encrypt);
 * header_tx receives the secretstream header to send when encrypting. */
void wal_secure_tx(wal_secure *s, const rs_wal_key *key, wal_side me, const wal_transcript *t, int encrypt,
                   uint8_t header_tx[WAL_SEAL_HEADER_BYTES]);
/* The receiving direction (the peer's); header_rx is the peer's header
 * when encrypting. RS_E_AUTH if it is not one. */
rs_code wal_secure_rx(wal_secure *s, const rs_wal_key *key, wal_side peer, const wal_transcript *t,
                      const uint8_t header_rx[WAL_SEAL_HEADER_BYTES], rs_err *err);
void wal_secure_wipe(wal_secure *s);
/* The MAC of message number counter: over the counter, the frame header
 * and its payload. */
void wal_crypto_mac(const uint8_t key[WAL_MAC_KEY_BYTES], uint64_t counter, const uint8_t *hdr,
                    const uint8_t *payload, size_t len, uint8_t out[WAL_MAC_BYTES]);

/* ---- a framed connection (conn.c) ------------------------------------- */

typedef struct wal_conn {
    int        fd;
    char       peer[64];
    wal_secure sec;          /* NONE until the handshake authenticated both sides */
    uint64_t   max_payload;  /* the largest payload accepted from the peer */
    uint8_t   *out;          /* the send queue: frames not yet written; grows
                                on demand up to queue_limit */
    size_t     out_len, out_cap;
    uint8_t   *in;           /* the frame last received */
    size_t     in_cap;
    uint8_t   *cipher;       /* scratch for one sealed message */
    size_t     cipher_cap;
    uint8_t   *rbuf;         /* bytes received, not yet taken: many small frames
                                cost one recv (allocated on first use) */
    size_t     rpos, rlen;
    int        refusal;      /* the wal_refusal code of a REFUSE received, or 0 */
    int        auth_failed;  /* a message failed authentication after the handshake */
    uint64_t   queue_limit;  /* flush when the queue holds this much */
    uint32_t   send_deadline_ms;
    atomic_uint_fast64_t bytes_sent, frames_sent;
} wal_conn;

/* Takes fd (closed by wal_conn_close, even on failure). Allocates no
 * buffer: they come with the first frame sent or received. */
rs_code wal_conn_create(int fd, const char *peer, uint64_t queue_limit, uint32_t send_deadline_ms,
                        wal_conn **out, rs_err *err);
void wal_conn_close(wal_conn *c);
/* Wakes threads blocked on the socket (both directions) without freeing. */
void wal_conn_shutdown(wal_conn *c);
/* From now on every frame both ways is protected as s says (s is copied,
 * then wiped). */
void wal_conn_secure(wal_conn *c, wal_secure *s);

/* Appends a frame to the send queue; sends the queue when it exceeds its
 * limit. One sending thread per connection. */
rs_code wal_conn_queue(wal_conn *c, const rs_wal_frame *f, rs_err *err);
/* Sends what is queued, within the send deadline: RS_E_TIMEOUT if the peer
 * does not take it in time (a slow follower). */
rs_code wal_conn_flush(wal_conn *c, rs_err *err);
/* queue + flush. */
rs_code wal_conn_send(wal_conn *c, const rs_wal_frame *f, rs_err *err);
/* A control frame of type with payload p (borrowed). */
rs_code wal_conn_send_msg(wal_conn *c, uint8_t type, const uint8_t *p, size_t len, rs_err *err);

/* Receives one frame within timeout_ms; f->payload is valid until the next
 * receive. One receiving thread per connection. Each frame's length is
 * bounded by its type's (wal_proto_max_payload) and the connection's before
 * anything is allocated. RS_E_TIMEOUT, RS_E_NETWORK (closed), RS_E_CORRUPT
 * (malformed, or failed authentication after the handshake: then
 * c->auth_failed is set), RS_E_PROTOCOL (too long for its type). */
rs_code wal_conn_recv(wal_conn *c, rs_wal_frame *f, uint32_t timeout_ms, rs_err *err);
/* Receives a frame and checks its type; a REFUSE becomes an error carrying
 * the peer's message. */
rs_code wal_conn_expect(wal_conn *c, uint8_t type, rs_wal_frame *f, uint32_t timeout_ms, rs_err *err);

/* Sends one unprotected frame at once on a non-blocking socket, whole or
 * not at all (-1): what the primary says before a peer authenticated (a
 * CHALLENGE, a REFUSE), from its listener thread, which never waits. */
int wal_send_plain_now(int fd, uint8_t type, const uint8_t *p, size_t len);

/* ---- protocol messages (proto.c) -------------------------------------- */

/* 3: every message after the handshake is authenticated (a MAC, or
 * sealed), proofs and keys bound to the transcript. 2: ACK carries the
 * applied version. */
#define WAL_PROTO_VERSION 3
#define WAL_FLAG_ENCRYPT  (1u << 0)
#define WAL_NAME_MAX      63

/* What a follower says about its database once authenticated. */
typedef struct wal_identity {
    uint8_t  db_id[16];        /* zeros: no database yet */
    uint8_t  history[RS_WAL_HISTORY_BYTES];
    uint64_t latest_seq;
    uint8_t  chain[RS_WAL_CHAIN_BYTES];
    uint16_t flags;            /* WAL_IDENT_* */
    char     name[WAL_NAME_MAX + 1];
} wal_identity;

#define WAL_IDENT_EMPTY     (1u << 0) /* no database: bootstrap me */
#define WAL_IDENT_RESYNC    (1u << 1) /* my database must be replaced */

typedef enum wal_mode { WAL_MODE_STREAM = 0, WAL_MODE_CHECKPOINT = 1 } wal_mode;

typedef struct wal_welcome {
    uint8_t  db_id[16];
    uint8_t  history[RS_WAL_HISTORY_BYTES];
    uint64_t primary_seq;
    uint8_t  mode;             /* wal_mode */
} wal_welcome;

/* Why a primary refused; sent in REFUSE and kept in the follower's error. */
typedef enum wal_refusal {
    WAL_REFUSE_PROTOCOL = 1,
    WAL_REFUSE_AUTH,
    WAL_REFUSE_DATABASE,       /* another database */
    WAL_REFUSE_HISTORY,        /* diverged history */
    WAL_REFUSE_AHEAD,          /* follower has batches the primary has not */
    WAL_REFUSE_BUSY,           /* too many followers */
    WAL_REFUSE_DIVERGED,       /* chain mismatch in an ack: resync */
    WAL_REFUSE_ENCRYPTION,
    WAL_REFUSE_BEHIND,         /* the WAL moved past the follower: resync */
} wal_refusal;

/* The largest payload a message of type can carry (0: unknown type), and
 * its name for messages. */
uint32_t wal_proto_max_payload(uint8_t type);
const char *wal_proto_type_name(uint8_t type);

/* The largest message a follower sends: what the primary's connections
 * accept. */
#define WAL_FOLLOWER_MSG_MAX 256

size_t wal_identity_encode(const wal_identity *id, uint8_t *out, size_t cap);
rs_code wal_identity_decode(const uint8_t *p, size_t len, wal_identity *id, rs_err *err);
size_t wal_welcome_encode(const wal_welcome *w, uint8_t *out, size_t cap);
rs_code wal_welcome_decode(const uint8_t *p, size_t len, wal_welcome *w, rs_err *err);
/* REFUSE: a code and a sentence. */
rs_code wal_send_refusal(wal_conn *c, wal_refusal why, const char *msg);
/* Turns a REFUSE payload into an error: RS_E_AUTH, RS_E_PROTOCOL, ... */
rs_code wal_refusal_to_err(const rs_wal_frame *f, rs_err *err);
int wal_refusal_code(const rs_wal_frame *f);

/* The handshake (handshake.c). The follower's half, on its connection:
 * HELLO, CHALLENGE, AUTH; once it returns, every frame is protected. */
rs_code wal_handshake_follower(wal_conn *c, const rs_wal_key *key, int encrypt, uint32_t timeout_ms,
                               rs_err *err);

/* The primary's half, in three steps its listener takes as each message
 * arrives (admit.c): a HELLO (an error says what to refuse, why), the
 * CHALLENGE to answer with (its length returned), the AUTH (RS_E_AUTH: the
 * follower's proof is wrong). hs->sec is then the session's protection. */
typedef struct wal_hs {
    wal_transcript t;
    int            encrypt;
    wal_secure     sec;
} wal_hs;
rs_code wal_hs_hello(wal_hs *hs, const uint8_t *p, size_t len, int require_encryption, wal_refusal *why,
                     rs_err *err);
size_t wal_hs_challenge(wal_hs *hs, const rs_wal_key *key, uint8_t out[WAL_CHALLENGE_MAX]);
rs_code wal_hs_auth(wal_hs *hs, const rs_wal_key *key, const uint8_t *p, size_t len, rs_err *err);

/* ACK: applied, durable, chain, the versioned state's latest version at
 * or before applied_seq (0: none). HEARTBEAT: sender's latest, wall time. */
typedef struct wal_ack {
    uint64_t applied_seq, durable_seq;
    uint8_t  chain[RS_WAL_CHAIN_BYTES];
    uint64_t applied_version;
} wal_ack;
rs_code wal_send_ack(wal_conn *c, const wal_ack *a, rs_err *err);
rs_code wal_ack_decode(const rs_wal_frame *f, wal_ack *a, rs_err *err);
rs_code wal_send_heartbeat(wal_conn *c, uint64_t latest_seq, rs_err *err);
uint64_t wal_heartbeat_seq(const rs_wal_frame *f);

/* ---- the WAL tail (tail.c) ------------------------------------------- */

/* Whether the tail's last RS_E_GAP was a batch written unchained (rather
 * than WAL no longer kept): the two are logged differently. */
int wal_tail_unchained(const rs_wal_tail *tail);

/* ---- history (history.c) ---------------------------------------------- */

#define WAL_HISTORY_MAX 16

/* Newest first: entries[0] is the current history, start_seq the first
 * sequence written under it. */
typedef struct wal_history {
    size_t n;
    struct {
        uint8_t  id[RS_WAL_HISTORY_BYTES];
        uint64_t start_seq;
    } e[WAL_HISTORY_MAX];
} wal_history;

rs_code wal_history_load(rs_store *store, wal_history *h, rs_err *err);
/* Writes a new history, starting at the next sequence, into store. */
rs_code wal_history_promote(rs_store *store, rs_err *err);
/* Whether a follower at latest_seq on history id can follow h: 0 yes, or
 * -1 with msg filled (never the case for a follower of the same history). */
int wal_history_admits(const wal_history *h, const uint8_t id[RS_WAL_HISTORY_BYTES], uint64_t latest_seq,
                       char *msg, size_t cap);

/* ---- checkpoint transfer (ckpt_send.c, ckpt_recv.c) --------------------- */

/* Takes a checkpoint of store under work_dir and sends it as a tar stream
 * (CKPT_BEGIN, CKPT_DATA..., CKPT_END) at most bytes_per_sec; removes the
 * checkpoint after. *seq_out: its sequence. */
rs_code wal_ckpt_send(wal_conn *c, rs_store *store, const char *work_dir, uint64_t bytes_per_sec,
                      uint64_t *seq_out, const atomic_int *stop, rs_err *err);

/* Removes the checkpoints a primary that died mid-send left in work_dir
 * (named with its pid, hard links pinning the database's files); logged;
 * returns how many. */
size_t wal_ckpt_sweep(const char *work_dir);

/* Receives a checkpoint into a new directory dir (which must not exist),
 * fsyncs it, and returns its sequence. Only plain files, no paths. */
rs_code wal_ckpt_recv(wal_conn *c, const char *dir, uint32_t timeout_ms, uint64_t *seq_out, rs_err *err);

/* ---- the primary's shared state (shipper.c, ship_session.c) ------------ */

#define WAL_RING 4096 /* batches remembered per follower for ack checks */

struct wal_sent {
    uint64_t last_seq;  /* the batch's last sequence */
    uint64_t time_ns;   /* its commit time */
    uint8_t  chain[RS_WAL_CHAIN_BYTES];
};

/* WAL retention watch for one consumer (retention.c). */
typedef struct wal_retention {
    uint64_t keep_ns, keep_bytes;
    uint64_t next_check_ns, next_warn_ns;
    uint64_t bytes_per_seq_x1000; /* running estimate of WAL bytes per seq */
} wal_retention;

void wal_retention_init(wal_retention *r, const rs_store_config *cfg);
/* Called as batches are shipped to a consumer; logs a warning (at most
 * once a minute) when it nears the budget. */
void wal_retention_note(wal_retention *r, rs_store *store, const char *who, uint64_t batch_time_ns,
                        uint64_t batch_bytes, uint32_t batch_seqs, uint64_t lag_seqs);

struct wal_peer {
    struct rs_wal_primary *p;
    wal_conn             *conn;
    rs_wal_tail          *tail;       /* while streaming; its pin follows the acks */
    pthread_t             ship_thread, ack_thread;
    int                   ack_running;
    atomic_int            stop;       /* end this session */
    atomic_int            done;       /* the session thread has finished */
    atomic_int            diverged;   /* an ack's chain differed */
    atomic_int            state;      /* rs_wal_peer_state */
    char                  name[WAL_NAME_MAX + 1];
    char                  addr[64];
    atomic_uint_fast64_t  sent_seq, acked_seq, durable_seq;
    atomic_uint_fast64_t  acked_version;  /* its versioned state's latest version */
    pthread_mutex_t       ring_mu;
    struct wal_sent       ring[WAL_RING];
    uint64_t              ring_n;     /* entries ever written */
    struct wal_peer      *next;
};

struct rs_wal_primary {
    rs_store             *store;
    rs_wal_primary_config cfg;
    char                 *listen_addr;
    char                 *work_dir;
    int                   lfd;
    uint16_t              port;
    int                   ack_fd;     /* eventfd */
    pthread_t             listener;
    atomic_int            stopping;
    pthread_mutex_t       mu;         /* peers, and WAIT's condition */
    pthread_cond_t        acked;
    struct wal_peer      *peers;
    atomic_uint_fast64_t  n_accepted, n_refused, n_checkpoints, n_divergences, n_slow_drops;
    atomic_uint_fast64_t  n_unauth_dropped, n_auth_failures;
    atomic_uint_fast64_t  frames_sent_done, bytes_sent_done; /* of finished sessions */
};

/* The session thread of one follower (ship_session.c). */
void *wal_peer_main(void *arg);
/* Tells WAIT's waiters that acks moved (shipper.c). */
void wal_primary_acks_changed(struct rs_wal_primary *p);
/* The listener thread: authenticates new connections (admit.c). */
void *wal_listener_main(void *arg);
/* Gives an authenticated connection (taken) its session, unless
 * max_followers are connected already (then it is refused, BUSY).
 * Listener thread only (shipper.c). */
void wal_primary_start_session(struct rs_wal_primary *p, wal_conn *c);
/* Joins and frees the sessions that ended (all: ends them all first).
 * Listener thread only. */
void wal_primary_reap(struct rs_wal_primary *p, int all);

/* ---- the follower's shared state (follower.c, apply.c, install.c) ------ */

struct rs_wal_follower {
    rs_wal_follower_config cfg;        /* strings below are owned copies */
    char                  *db_path;
    char                  *primary_addr;
    char                   name[WAL_NAME_MAX + 1];
    pthread_t              thread;
    int                    running;
    atomic_int             stop;
    pthread_rwlock_t       store_lock; /* readers vs. a resync swapping the store */
    rs_store              *store;      /* NULL while there is none */
    wal_conn              *conn;       /* the current connection, or NULL */
    pthread_mutex_t        mu;         /* the fields below, and the conn pointer */
    pthread_cond_t         applied_cv;
    int                    n_applied_waiters; /* appliers broadcast only then */
    rs_wal_follower_status st;
    int                    resync_pending; /* next IDENTIFY asks for a checkpoint */
    int                    last_refusal;   /* why the primary last refused, or 0 */
    int                    has_store;      /* store is open (under mu, for wait_store) */
    int                    fresh_install;  /* a checkpoint was installed and the
                                              primary has not streamed since */
    int                    local_fault;    /* the last session ended on a write of
                                              its own store failing (under mu) */
};

/* One connection's life: handshake, identify, checkpoint or stream, until
 * it fails or the follower stops (apply.c). */
rs_code wal_follower_session(rs_wal_follower *f, wal_conn *c, rs_err *err);
/* Receives a checkpoint and puts it in place of the database (install.c).
 * Takes the store lock for writing while it swaps. */
rs_code wal_follower_install(rs_wal_follower *f, wal_conn *c, const wal_welcome *w, rs_err *err);
/* Replaces the follower's open store: tells readers to let go (swap_fn),
 * holds them off, closes it, runs between (if any: a checkpoint moved into
 * its place), and opens the database at its path again (follower.c). On
 * failure the follower has no store. */
rs_code wal_follower_swap_store(rs_wal_follower *f, rs_code (*between)(rs_wal_follower *f, void *arg, rs_err *err),
                                void *arg, rs_err *err);
/* Opens the follower's database at its path as a replica (follower.c). */
rs_code wal_follower_open_store(rs_wal_follower *f, rs_store **out, rs_err *err);
void wal_follower_set_state(rs_wal_follower *f, rs_wal_follower_state state);
/* The session is ending on the follower's own store failing to write
 * (counted; the next connection resumes, after a backoff). */
void wal_follower_note_local_fault(rs_wal_follower *f);

#endif
