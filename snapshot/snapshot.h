/*
 * snapshot: consistent checkpoints sealed into compressed, encrypted,
 * authenticated archives; their manifests; the keys that seal them.
 *
 * An archive is a pax tar of a RocksDB checkpoint (plus its manifest),
 * compressed per file (files RocksDB already compressed pass through), cut
 * into chunks sealed with libsodium's secretstream under a per-archive data
 * key, which the header carries wrapped under the user's key, passphrase or
 * public key. docs/format.md is the normative format; docs/keys.md explains
 * the key modes.
 *
 * Threads: every call is self-contained and may run on any thread; a key and
 * a manifest may be shared read-only between threads.
 */
#ifndef RS_SNAPSHOT_H
#define RS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "common/api.h"
#include "common/err.h"
#include "store/store.h"

/* Format versions this build writes and reads. */
#define RS_SNAPSHOT_STREAM_VERSION   1
#define RS_SNAPSHOT_MANIFEST_VERSION 1

#define RS_SNAPSHOT_KEY_ID_BYTES 8
/* File and archive hashes: XXH3-128, canonical (as xxh128sum prints it). */
#define RS_SNAPSHOT_HASH_BYTES   16

/* ------------------------------------------------------------------ */
/* Keys (snapshot_keyfile.c, snapshot_key.c)                           */
/* ------------------------------------------------------------------ */

typedef struct rs_snapshot_key rs_snapshot_key;

/* What a key is. Append only: the kind is written in key files. */
typedef enum rs_snapshot_key_kind {
    RS_SNAPSHOT_KEY_SECRET = 1, /* a 32-byte secret: seals and unseals */
    RS_SNAPSHOT_KEY_PASSPHRASE, /* Argon2id of a passphrase: seals and unseals */
    RS_SNAPSHOT_KEY_PUBLIC,     /* a public key: seals only */
    RS_SNAPSHOT_KEY_PAIR,       /* public + secret key: seals and unseals */
} rs_snapshot_key_kind;

/* Writes a new key file at path with mode 0600, refusing to replace any
 * file. kind SECRET writes a secret key; PAIR writes the key pair at path and
 * its public half at "<path>.pub" (mode 0644, also never replaced).
 * id_hex receives the key id (16 hex digits and a NUL). Errors: RS_E_EXISTS,
 * RS_E_IO, RS_E_INVALID (another kind). */
rs_code rs_snapshot_keygen(const char *path, rs_snapshot_key_kind kind, char id_hex[17], rs_err *err);

/* Loads a key file (any kind keygen writes). Fails closed, before any work:
 * RS_E_NOTFOUND (missing), RS_E_IO (unreadable), RS_E_INVALID (not a key
 * file, wrong length, id does not match) and RS_E_AUTH when a file holding
 * a secret is readable or writable by group or others. The secret lives in
 * locked memory until rs_snapshot_key_destroy. */
rs_code rs_snapshot_key_load(const char *path, rs_snapshot_key **out, rs_err *err);

/* A key from a passphrase (copied; at least 1 byte, at most 1024). Sealing
 * stretches it with Argon2id under a fresh salt with opslimit and memlimit
 * (0: 3 and 64 MiB); unsealing uses the parameters in the archive. */
rs_code rs_snapshot_key_from_passphrase(const char *pass, size_t len, uint64_t opslimit, size_t memlimit,
                                        rs_snapshot_key **out, rs_err *err);

/* Wipes and frees. NULL allowed. */
void rs_snapshot_key_destroy(rs_snapshot_key *key);

rs_snapshot_key_kind rs_snapshot_key_kind_of(const rs_snapshot_key *key);

/* The key id as 16 hex digits ("" for a passphrase, whose id depends on
 * each archive's salt). Borrowed for the key's lifetime. */
const char *rs_snapshot_key_id(const rs_snapshot_key *key);

/* Non-zero when the key can open archives (not a lone public key). */
int rs_snapshot_key_can_unseal(const rs_snapshot_key *key);

/* ------------------------------------------------------------------ */
/* Where archive bytes go and come from                                */
/* ------------------------------------------------------------------ */

/* A sink takes the archive's bytes in order, from one thread at a time
 * (the sealing thread, not necessarily the caller's); a failure it returns
 * stops the seal. The bytes are borrowed for the call. */
typedef struct rs_snapshot_sink {
    rs_code (*write)(void *arg, const uint8_t *p, size_t len, rs_err *err);
    void *arg;
} rs_snapshot_sink;

/* A source fills buf with up to cap bytes and sets *got; *got == 0 means
 * the end of the archive. */
typedef struct rs_snapshot_source {
    rs_code (*read)(void *arg, uint8_t *buf, size_t cap, size_t *got, rs_err *err);
    void *arg;
} rs_snapshot_source;

/* A file written atomically: bytes go to a temporary file beside path;
 * commit fsyncs it, renames it to path and fsyncs the directory; closing an
 * uncommitted file removes the temporary. open refuses an existing path
 * (RS_E_EXISTS). */
typedef struct rs_snapshot_file_out rs_snapshot_file_out;
rs_code rs_snapshot_file_out_open(const char *path, rs_snapshot_file_out **out, rs_err *err);
rs_snapshot_sink rs_snapshot_file_out_sink(rs_snapshot_file_out *f);
rs_code rs_snapshot_file_out_commit(rs_snapshot_file_out *f, rs_err *err);
void rs_snapshot_file_out_close(rs_snapshot_file_out *f);

/* A source reading a file descriptor (borrowed, not closed). */
rs_snapshot_source rs_snapshot_fd_source(int *fd);

/* ------------------------------------------------------------------ */
/* Manifests (snapshot_manifest.c)                                     */
/* ------------------------------------------------------------------ */

typedef struct rs_snapshot_manifest rs_snapshot_manifest;

/* The facts a manifest records, decoded (see docs/format.md, "Manifest"). */
typedef struct rs_snapshot_info {
    char     id[48];             /* "20250102T030405Z-1a2b3c4d": sorts by time */
    uint64_t seq;                /* the checkpoint's sequence number */
    uint64_t version;            /* the versioned state's latest version (block
                                    height) at seq; 0: none committed */
    uint64_t created_unix_ms;
    uint8_t  database_id[16];
    uint8_t  content_digest[RS_STORE_DIGEST_BYTES];
    uint64_t n_pairs;
    uint64_t n_files;
    uint64_t n_files_compressed; /* files that went through zstd */
    uint64_t file_bytes;         /* total size of the checkpoint's files */
    uint64_t archive_bytes;      /* 0 until the archive is complete */
    uint8_t  archive_hash[RS_SNAPSHOT_HASH_BYTES];
    char     key_id[17];         /* hex; for a passphrase, this archive's */
} rs_snapshot_info;

void rs_snapshot_manifest_info(const rs_snapshot_manifest *m, rs_snapshot_info *out);

/* The detached, authenticated manifest (JSON, docs/format.md) that backup/
 * stores beside the archive. Returns a malloc'd buffer the caller frees. */
rs_code rs_snapshot_manifest_encode(const rs_snapshot_manifest *m, uint8_t **out, size_t *out_len, rs_err *err);

/* Parses a detached manifest (at most 64 MiB) and checks its MAC with key.
 * Errors: RS_E_CORRUPT (not a manifest, or edited: "manifest authentication
 * failed"), RS_E_VERSION, RS_E_AUTH (wrong key). */
rs_code rs_snapshot_manifest_decode(const uint8_t *p, size_t len, const rs_snapshot_key *key,
                                    rs_snapshot_manifest **out, rs_err *err);

void rs_snapshot_manifest_destroy(rs_snapshot_manifest *m);

/* ------------------------------------------------------------------ */
/* Sealing (snapshot_take.c)                                           */
/* ------------------------------------------------------------------ */

/* Which files go through zstd. AUTO trial-compresses a sample of each. */
typedef enum rs_snapshot_compress {
    RS_SNAPSHOT_COMPRESS_AUTO = 0,
    RS_SNAPSHOT_COMPRESS_ALL,
    RS_SNAPSHOT_COMPRESS_NONE,
} rs_snapshot_compress;

/* Called now and then with the bytes of checkpoint files sealed so far and
 * their total. */
typedef void (*rs_snapshot_progress_fn)(void *arg, uint64_t done_bytes, uint64_t total_bytes);

/* Plain struct: zero means default. */
typedef struct rs_snapshot_options {
    const rs_snapshot_key *key;     /* required; borrowed for the call */
    int         zstd_level;         /* default 3 */
    int         zstd_threads;       /* zstd workers, default 2; 1: none */
    rs_snapshot_compress compress;  /* default AUTO */
    int         min_saving_pct;     /* AUTO compresses a file when zstd saves at
                                       least this much of a sample, default 5 */
    size_t      chunk_bytes;        /* plaintext per sealed chunk, default 1 MiB */
    const char *source;             /* recorded as the source path (default: the store's) */
    rs_snapshot_progress_fn progress;
    void       *progress_arg;
} rs_snapshot_options;

/* Durations of a take, for logs and benchmarks. The digest runs on its
 * own thread while the files are sealed. */
typedef struct rs_snapshot_timing {
    uint64_t checkpoint_ns; /* the checkpoint (take only) */
    uint64_t digest_ns;     /* the content digest, on its thread */
    uint64_t stream_ns;     /* sealing the checkpoint's files */
    uint64_t seal_ns;       /* the whole seal: files, digest, manifest */
} rs_snapshot_timing;

/* Takes a checkpoint of an open, live database into a temporary directory
 * beside it (hard links), computes its content digest, seals it into sink,
 * and removes the checkpoint. Writers continue meanwhile. On RS_OK *manifest
 * (owned by the caller) describes the archive, archive size and hash
 * included; timing may be NULL. On failure the sink may have received part
 * of an archive: the caller discards it (a file_out closes uncommitted).
 * Refuses a key that cannot seal or an in-memory store before any work. */
rs_code rs_snapshot_take(rs_store *store, const rs_snapshot_options *opt, const rs_snapshot_sink *sink,
                         rs_snapshot_manifest **manifest, rs_snapshot_timing *timing, rs_err *err);

/* Seals an existing checkpoint directory (not modified; opened read-only
 * for its sequence and digest). Same contract as rs_snapshot_take. */
rs_code rs_snapshot_seal_dir(const char *checkpoint_dir, const rs_snapshot_options *opt,
                             const rs_snapshot_sink *sink, rs_snapshot_manifest **manifest,
                             rs_snapshot_timing *timing, rs_err *err);

/* ------------------------------------------------------------------ */
/* An archive and its manifest as files (snapshot_file.c)              */
/* ------------------------------------------------------------------ */

/* An archive file and its detached manifest, written as a pair: what
 * `rockstream snapshot` writes and what serve's SNAPSHOT writes. open
 * refuses an existing archive or manifest (RS_E_EXISTS) and a directory
 * that cannot take them (RS_E_IO) before any work, and makes a temporary
 * file beside each name. The archive's bytes go to the sink (for
 * rs_snapshot_take). commit puts the archive in place, then writes the
 * manifest and puts it in place: the manifest is the commit point, and if
 * it cannot be written the archive is removed again, so a manifest never
 * names a missing archive and a failure leaves neither name. No existing
 * file is ever replaced. close removes whatever was not committed.
 * manifest_path NULL means "<archive_path>.manifest". One thread at a time. */
#define RS_SNAPSHOT_MANIFEST_SUFFIX ".manifest"
typedef struct rs_snapshot_files rs_snapshot_files;
rs_code rs_snapshot_files_open(const char *archive_path, const char *manifest_path, rs_snapshot_files **out,
                               rs_err *err);
rs_snapshot_sink rs_snapshot_files_sink(rs_snapshot_files *f);
/* The paths, borrowed until close. */
const char *rs_snapshot_files_archive_path(const rs_snapshot_files *f);
const char *rs_snapshot_files_manifest_path(const rs_snapshot_files *f);
/* m is the manifest rs_snapshot_take returned for the archive (borrowed). */
rs_code rs_snapshot_files_commit(rs_snapshot_files *f, const rs_snapshot_manifest *m, rs_err *err);
void rs_snapshot_files_close(rs_snapshot_files *f);

/**
 * @brief Removes what snapshots that crashed (kill -9, power loss) left
 * behind, and nothing else: checkpoints beside the database
 * (".<name>.snapshot-<pid>-*", hard links that keep a compacted SST file's
 * blocks on disk: each can pin a whole copy of the database) and archive
 * temporaries in a directory archives are written to ("*.tmp-<pid>-*"),
 * only those whose process is gone. Each removal is logged. serve calls it
 * when it starts; rs_snapshot_files_open, for the directory it writes into.
 * @param db_path the database whose checkpoints to sweep, or NULL
 * @param archive_dir a directory of archives to sweep, or NULL
 * @return how many were removed
 */
RS_API size_t rs_snapshot_sweep(const char *db_path, const char *archive_dir);

/* ------------------------------------------------------------------ */
/* Unsealing (snapshot_unseal.c)                                       */
/* ------------------------------------------------------------------ */

typedef struct rs_snapshot_unseal_options {
    const rs_snapshot_key *key;            /* required; borrowed */
    const rs_snapshot_manifest *expect;    /* the detached manifest, or NULL */
    rs_snapshot_progress_fn progress;      /* total is 0 when unknown */
    void *progress_arg;
} rs_snapshot_unseal_options;

/* Reads an archive from src and puts the database at to_dir, which must not
 * exist or be empty (RS_E_EXISTS otherwise). Extracts into a temporary
 * directory beside to_dir, checks every chunk's authentication, every
 * file's size and hash and the content digest of the opened database
 * against the manifest in the archive (and against expect, with the
 * archive's size and hash, when given), and only then renames it into
 * place. On any failure nothing is left at to_dir. On RS_OK *manifest (may
 * be NULL) receives the archive's manifest. Errors: RS_E_AUTH (wrong key or
 * passphrase, public key only), RS_E_CORRUPT (authentication, truncation,
 * hashes, digest, unsafe entries), RS_E_VERSION, RS_E_EXISTS, RS_E_IO. */
rs_code rs_snapshot_unseal(const rs_snapshot_source *src, const char *to_dir,
                           const rs_snapshot_unseal_options *opt, rs_snapshot_manifest **manifest, rs_err *err);

#endif
