/**
 * @file
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

/** The sealed-stream format version this build writes (and the newest it
 * reads). */
#define RS_SNAPSHOT_STREAM_VERSION   1
/** The manifest format version this build writes (and the newest it
 * reads). */
#define RS_SNAPSHOT_MANIFEST_VERSION 1

/** Bytes of a key id (shown as 16 hex digits). */
#define RS_SNAPSHOT_KEY_ID_BYTES 8
/** Bytes of a file or archive hash: XXH3-128, canonical (as xxh128sum
 * prints it). */
#define RS_SNAPSHOT_HASH_BYTES   16

/* ------------------------------------------------------------------ */
/* Keys (snapshot_keyfile.c, snapshot_key.c)                           */
/* ------------------------------------------------------------------ */

/** A key that seals or unseals archives; its secret lives in locked
 * memory. Opaque. */
typedef struct rs_snapshot_key rs_snapshot_key;

/** What a key is. Append only: the kind is written in key files. */
typedef enum rs_snapshot_key_kind {
    RS_SNAPSHOT_KEY_SECRET = 1, /**< a 32-byte secret: seals and unseals */
    RS_SNAPSHOT_KEY_PASSPHRASE, /**< Argon2id of a passphrase: seals and unseals */
    RS_SNAPSHOT_KEY_PUBLIC,     /**< a public key: seals only */
    RS_SNAPSHOT_KEY_PAIR,       /**< public + secret key: seals and unseals */
} rs_snapshot_key_kind;

/** Writes a new key file, refusing to replace any file.
 * @param path   where: written atomically with mode 0600
 * @param kind   RS_SNAPSHOT_KEY_SECRET writes a secret key;
 *               RS_SNAPSHOT_KEY_PAIR writes the key pair at path and its
 *               public half at "<path>.pub" (mode 0644, also never replaced)
 * @param id_hex receives the key id (16 hex digits and a NUL)
 * @param err    why it failed
 * @return RS_OK; RS_E_EXISTS, RS_E_IO, RS_E_INVALID (another kind) */
RS_API rs_code rs_snapshot_keygen(const char *path, rs_snapshot_key_kind kind, char id_hex[17], rs_err *err);

/** Loads a key file (any kind keygen writes), failing closed before any
 * work. The secret lives in locked memory until rs_snapshot_key_destroy.
 * @param path the key file: not a symbolic link; a file holding a secret
 *             must not be accessible by group or others
 * @param out  receives the key (owned by the caller) on success
 * @param err  why it failed
 * @return RS_OK; RS_E_NOTFOUND (missing), RS_E_IO (unreadable),
 *         RS_E_INVALID (not a key file, wrong length, id does not match, a
 *         symbolic link), RS_E_AUTH (a secret group or others can access) */
RS_API rs_code rs_snapshot_key_load(const char *path, rs_snapshot_key **out, rs_err *err);

/** A key from a passphrase. Sealing stretches it with Argon2id under a
 * fresh salt; unsealing uses the parameters recorded in the archive.
 * @param pass     the passphrase (copied into locked memory)
 * @param len      its length: 1 to 1024 bytes
 * @param opslimit Argon2id passes when sealing (0: 3; at most 64)
 * @param memlimit Argon2id memory when sealing (0: 64 MiB; at most 1 GiB)
 * @param out      receives the key (owned by the caller) on success
 * @param err      why it failed
 * @return RS_OK; RS_E_INVALID (empty, too long, limits too high) */
RS_API rs_code rs_snapshot_key_from_passphrase(const char *pass, size_t len, uint64_t opslimit, size_t memlimit,
                                               rs_snapshot_key **out, rs_err *err);

/** Wipes and frees a key.
 * @param key the key; NULL allowed */
RS_API void rs_snapshot_key_destroy(rs_snapshot_key *key);

/** What a key is.
 * @param key the key
 * @return its kind */
RS_API rs_snapshot_key_kind rs_snapshot_key_kind_of(const rs_snapshot_key *key);

/** What kind of key it is, for people.
 * @param key the key
 * @return static text: "secret key", "key pair", "public key" or "passphrase" */
RS_API const char *rs_snapshot_key_describe(const rs_snapshot_key *key);

/** The key id as 16 hex digits.
 * @param key the key
 * @return the id, borrowed for the key's lifetime; "" for a passphrase,
 *         whose id depends on each archive's salt */
RS_API const char *rs_snapshot_key_id(const rs_snapshot_key *key);

/** Whether the key can open archives.
 * @param key the key
 * @return non-zero unless it is a lone public key */
RS_API int rs_snapshot_key_can_unseal(const rs_snapshot_key *key);

/* ------------------------------------------------------------------ */
/* Where archive bytes go and come from                                */
/* ------------------------------------------------------------------ */

/** Where an archive's bytes go: they arrive in order, from one thread at a
 * time (the sealing thread, not necessarily the caller's). */
typedef struct rs_snapshot_sink {
    /** Takes len bytes at p (borrowed for the call); a failure it returns
     * stops the seal. */
    rs_code (*write)(void *arg, const uint8_t *p, size_t len, rs_err *err);
    void *arg; /**< passed to write */
} rs_snapshot_sink;

/** Where an archive's bytes come from. */
typedef struct rs_snapshot_source {
    /** Fills buf with up to cap bytes and sets *got; *got == 0 means the
     * end of the archive. */
    rs_code (*read)(void *arg, uint8_t *buf, size_t cap, size_t *got, rs_err *err);
    void *arg; /**< passed to read */
} rs_snapshot_source;

/** A file written atomically: bytes go to a temporary file beside the
 * path; commit fsyncs it, names it and fsyncs the directory; closing an
 * uncommitted file removes the temporary. An existing file is never
 * replaced. Opaque. */
typedef struct rs_snapshot_file_out rs_snapshot_file_out;

/** Starts a file that commit will name path.
 * @param path the final name (copied)
 * @param out  receives the file (owned by the caller: close it)
 * @param err  why it failed
 * @return RS_OK; RS_E_EXISTS (path exists), RS_E_IO, RS_E_INVALID */
RS_API rs_code rs_snapshot_file_out_open(const char *path, rs_snapshot_file_out **out, rs_err *err);

/** A sink that appends to the file.
 * @param f the file (borrowed by the sink until close)
 * @return the sink */
RS_API rs_snapshot_sink rs_snapshot_file_out_sink(rs_snapshot_file_out *f);

/** fsyncs the file, puts it under its name, fsyncs the directory.
 * @param f   the file
 * @param err why it failed
 * @return RS_OK; RS_E_EXISTS (the name appeared meanwhile), RS_E_IO */
RS_API rs_code rs_snapshot_file_out_commit(rs_snapshot_file_out *f, rs_err *err);

/** Closes the file; an uncommitted one leaves nothing behind.
 * @param f the file; NULL allowed */
RS_API void rs_snapshot_file_out_close(rs_snapshot_file_out *f);

/** A source reading a file descriptor.
 * @param fd the descriptor (borrowed while the source is used, not closed)
 * @return the source */
RS_API rs_snapshot_source rs_snapshot_fd_source(int *fd);

/* ------------------------------------------------------------------ */
/* Manifests (snapshot_manifest.c)                                     */
/* ------------------------------------------------------------------ */

/** What an archive holds and how to check it (docs/format.md,
 * "Manifest"). Opaque. */
typedef struct rs_snapshot_manifest rs_snapshot_manifest;

/** The facts a manifest records, decoded. */
typedef struct rs_snapshot_info {
    char     id[48];             /**< "20250102T030405Z-1a2b3c4d": sorts by time */
    uint64_t seq;                /**< the checkpoint's sequence number */
    uint64_t version;            /**< the versioned state's latest version (block
                                      height) at seq; 0: none committed */
    uint64_t created_unix_ms;    /**< when it was sealed */
    uint8_t  database_id[16];    /**< the database's id (rs_store_id) */
    uint8_t  content_digest[RS_STORE_DIGEST_BYTES]; /**< rs_store_digest of the checkpoint */
    uint64_t n_pairs;            /**< key-value pairs the digest covered */
    uint64_t n_files;            /**< files in the checkpoint */
    uint64_t n_files_compressed; /**< files that went through zstd */
    uint64_t file_bytes;         /**< total size of the checkpoint's files */
    uint64_t archive_bytes;      /**< 0 until the archive is complete */
    uint8_t  archive_hash[RS_SNAPSHOT_HASH_BYTES]; /**< of the archive's bytes */
    char     key_id[17];         /**< hex; for a passphrase, this archive's */
} rs_snapshot_info;

/** Decodes a manifest's facts.
 * @param m   the manifest
 * @param out receives the facts */
RS_API void rs_snapshot_manifest_info(const rs_snapshot_manifest *m, rs_snapshot_info *out);

/** The detached, authenticated manifest (JSON, docs/format.md) stored
 * beside the archive.
 * @param m       the manifest
 * @param out     receives a malloc'd buffer the caller frees
 * @param out_len receives its length
 * @param err     why it failed
 * @return RS_OK; RS_E_NOMEM */
RS_API rs_code rs_snapshot_manifest_encode(const rs_snapshot_manifest *m, uint8_t **out, size_t *out_len, rs_err *err);

/** Parses a detached manifest and checks its MAC.
 * @param p   the manifest's bytes (at most 64 MiB)
 * @param len their length
 * @param key the key the archive was sealed with
 * @param out receives the manifest (owned by the caller) on success
 * @param err why it failed
 * @return RS_OK; RS_E_CORRUPT (not a manifest, or edited: "manifest
 *         authentication failed"), RS_E_VERSION, RS_E_AUTH (wrong key) */
RS_API rs_code rs_snapshot_manifest_decode(const uint8_t *p, size_t len, const rs_snapshot_key *key,
                                           rs_snapshot_manifest **out, rs_err *err);

/** Frees a manifest.
 * @param m the manifest; NULL allowed */
RS_API void rs_snapshot_manifest_destroy(rs_snapshot_manifest *m);

/* ------------------------------------------------------------------ */
/* Sealing (snapshot_take.c)                                           */
/* ------------------------------------------------------------------ */

/** Which files go through zstd. */
typedef enum rs_snapshot_compress {
    RS_SNAPSHOT_COMPRESS_AUTO = 0, /**< trial-compress a sample of each file */
    RS_SNAPSHOT_COMPRESS_ALL,      /**< every file */
    RS_SNAPSHOT_COMPRESS_NONE,     /**< none: files pass as they are */
} rs_snapshot_compress;

/** Called now and then while sealing or unsealing.
 * @param arg         the options' progress_arg
 * @param done_bytes  bytes of checkpoint files (or archive) done so far
 * @param total_bytes their total; 0 when unknown */
typedef void (*rs_snapshot_progress_fn)(void *arg, uint64_t done_bytes, uint64_t total_bytes);

/** How to seal. Plain struct: zero means default. */
typedef struct rs_snapshot_options {
    const rs_snapshot_key *key;     /**< required; borrowed for the call */
    int         zstd_level;         /**< default 3 */
    int         zstd_threads;       /**< zstd workers, default 2; 1: none */
    rs_snapshot_compress compress;  /**< default RS_SNAPSHOT_COMPRESS_AUTO */
    int         min_saving_pct;     /**< AUTO compresses a file when zstd saves at
                                         least this much of a sample, default 5 */
    size_t      chunk_bytes;        /**< plaintext per sealed chunk, default 1 MiB */
    const char *source;             /**< recorded as the source path (default: the store's) */
    rs_snapshot_progress_fn progress; /**< NULL: none */
    void       *progress_arg;       /**< passed to progress */
} rs_snapshot_options;

/** Durations of a seal, for logs and benchmarks. The digest runs on its
 * own thread while the files are sealed. */
typedef struct rs_snapshot_timing {
    uint64_t checkpoint_ns; /**< the checkpoint (take only) */
    uint64_t digest_ns;     /**< the content digest, on its thread */
    uint64_t stream_ns;     /**< sealing the checkpoint's files */
    uint64_t seal_ns;       /**< the whole seal: files, digest, manifest */
} rs_snapshot_timing;

/** Takes a checkpoint of an open, live database into a temporary directory
 * beside it (hard links), computes its content digest, seals it into sink,
 * and removes the checkpoint. Writers continue meanwhile. On failure the
 * sink may have received part of an archive: the caller discards it (a
 * file_out closes uncommitted). Refuses a key that cannot seal or an
 * in-memory store before any work.
 * @param store    the database (borrowed for the call)
 * @param opt      how to seal (borrowed); opt->key is required
 * @param sink     where the archive's bytes go
 * @param manifest receives the manifest (owned by the caller), archive size
 *                 and hash included
 * @param timing   receives the durations; NULL allowed
 * @param err      why it failed
 * @return RS_OK; RS_E_INVALID (no key, a key that cannot seal, an
 *         in-memory store), RS_E_IO, RS_E_STORE, or the sink's failure */
RS_API rs_code rs_snapshot_take(rs_store *store, const rs_snapshot_options *opt, const rs_snapshot_sink *sink,
                                rs_snapshot_manifest **manifest, rs_snapshot_timing *timing, rs_err *err);

/** Seals an existing checkpoint directory, which is not modified (it is
 * opened read-only for its sequence and digest). Same contract as
 * rs_snapshot_take.
 * @param checkpoint_dir the checkpoint
 * @param opt            how to seal (borrowed); opt->key is required
 * @param sink           where the archive's bytes go
 * @param manifest       receives the manifest (owned by the caller)
 * @param timing         receives the durations; NULL allowed
 * @param err            why it failed
 * @return as rs_snapshot_take */
RS_API rs_code rs_snapshot_seal_dir(const char *checkpoint_dir, const rs_snapshot_options *opt,
                                    const rs_snapshot_sink *sink, rs_snapshot_manifest **manifest,
                                    rs_snapshot_timing *timing, rs_err *err);

/* ------------------------------------------------------------------ */
/* An archive and its manifest as files (snapshot_file.c)              */
/* ------------------------------------------------------------------ */

/** What a detached manifest's name adds to its archive's. */
#define RS_SNAPSHOT_MANIFEST_SUFFIX ".manifest"

/** An archive file and its detached manifest, written as a pair: what
 * `rockstream snapshot` and serve's SNAPSHOT write. The archive's bytes go
 * to the sink (for rs_snapshot_take); commit puts the archive in place,
 * then writes the manifest and puts it in place: the manifest is the
 * commit point, and if it cannot be written the archive is removed again,
 * so a manifest never names a missing archive and a failure leaves neither
 * name. No existing file is ever replaced; close removes whatever was not
 * committed. One thread at a time. Opaque. */
typedef struct rs_snapshot_files rs_snapshot_files;

/** Starts the pair, refusing before any work an existing archive or
 * manifest and a directory that cannot take them; makes a temporary file
 * beside each name.
 * @param archive_path  the archive's name (copied)
 * @param manifest_path the manifest's name (copied); NULL means
 *                      "<archive_path>.manifest"
 * @param out           receives the pair (owned by the caller: close it)
 * @param err           why it failed
 * @return RS_OK; RS_E_EXISTS, RS_E_IO, RS_E_INVALID (a path too long) */
RS_API rs_code rs_snapshot_files_open(const char *archive_path, const char *manifest_path, rs_snapshot_files **out,
                                      rs_err *err);

/** A sink that appends to the archive.
 * @param f the pair (borrowed by the sink until close)
 * @return the sink */
RS_API rs_snapshot_sink rs_snapshot_files_sink(rs_snapshot_files *f);

/** The archive's path.
 * @param f the pair
 * @return the path, borrowed until close */
RS_API const char *rs_snapshot_files_archive_path(const rs_snapshot_files *f);

/** The manifest's path.
 * @param f the pair
 * @return the path, borrowed until close */
RS_API const char *rs_snapshot_files_manifest_path(const rs_snapshot_files *f);

/** Puts the archive in place, then its manifest.
 * @param f   the pair
 * @param m   the manifest rs_snapshot_take returned for the archive
 *            (borrowed)
 * @param err why it failed
 * @return RS_OK; RS_E_EXISTS (a name appeared meanwhile), RS_E_IO */
RS_API rs_code rs_snapshot_files_commit(rs_snapshot_files *f, const rs_snapshot_manifest *m, rs_err *err);

/** Closes the pair, removing whatever was not committed.
 * @param f the pair; NULL allowed */
RS_API void rs_snapshot_files_close(rs_snapshot_files *f);

/**
 * @brief Removes what snapshots that crashed (kill -9, power loss) left
 * behind, and nothing else: checkpoints beside the database
 * (".<name>.snapshot-<pid>-*", hard links that keep a compacted SST file's
 * blocks on disk: each can pin a whole copy of the database) and archive
 * temporaries in a directory archives are written to ("*.tmp-<pid>-*"),
 * only those whose process is gone. Each removal is logged. serve calls it
 * when it starts (with its --snapshot-dir); rs_snapshot_files_open, for the
 * directory it writes into.
 * @param db_path the database whose checkpoints to sweep, or NULL
 * @param archive_dir a directory of archives to sweep, or NULL
 * @return how many were removed
 */
RS_API size_t rs_snapshot_sweep(const char *db_path, const char *archive_dir);

/* ------------------------------------------------------------------ */
/* Unsealing (snapshot_unseal.c)                                       */
/* ------------------------------------------------------------------ */

/** How to unseal. */
typedef struct rs_snapshot_unseal_options {
    const rs_snapshot_key *key;            /**< required; borrowed */
    const rs_snapshot_manifest *expect;    /**< the detached manifest, or NULL */
    rs_snapshot_progress_fn progress;      /**< NULL: none; total is 0 when unknown */
    void *progress_arg;                    /**< passed to progress */
} rs_snapshot_unseal_options;

/** Reads an archive and puts its database in place, verified. Extracts
 * into a temporary directory beside to_dir, checks every chunk's
 * authentication, every file's size and hash and the content digest of
 * the opened database against the manifest in the archive (and against
 * opt->expect, with the archive's size and hash, when given), and only
 * then renames it into place. On any failure nothing is left at to_dir.
 * @param src      where the archive's bytes come from
 * @param to_dir   where the database goes: must not exist, or be empty
 * @param opt      how to unseal (borrowed); opt->key is required
 * @param manifest receives the archive's manifest (owned by the caller);
 *                 NULL allowed
 * @param err      why it failed
 * @return RS_OK; RS_E_AUTH (wrong key or passphrase, public key only),
 *         RS_E_CORRUPT (authentication, truncation, hashes, digest, unsafe
 *         entries), RS_E_VERSION, RS_E_EXISTS, RS_E_IO */
RS_API rs_code rs_snapshot_unseal(const rs_snapshot_source *src, const char *to_dir,
                                  const rs_snapshot_unseal_options *opt, rs_snapshot_manifest **manifest, rs_err *err);

#endif
