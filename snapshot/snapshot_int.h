/*
 * Private to snapshot/: the key struct, the sealed-stream header, and the
 * two shapes of pipeline stage. Writing: tar -> zstd -> encrypt -> out, each
 * stage pushes bytes into its next. Reading: in -> decrypt -> unzstd -> tar,
 * each stage pulls bytes from the one before. One stage per file.
 */
#ifndef RS_SNAPSHOT_INT_H
#define RS_SNAPSHOT_INT_H

#include <sodium.h>

#include "common/atomic_file.h"
#include "common/hex.h"
#include "snapshot/snapshot.h"

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

#define KEY_BYTES 32u /* secret key, data key, passphrase-derived key */

struct rs_snapshot_key {
    rs_snapshot_key_kind kind;
    uint8_t *secret;     /* sodium_malloc'd: key, box secret key or passphrase */
    size_t   secret_len;
    uint8_t  pub[crypto_box_PUBLICKEYBYTES]; /* PUBLIC and PAIR */
    uint8_t  id[RS_SNAPSHOT_KEY_ID_BYTES];   /* not for PASSPHRASE */
    char     id_hex[17];
    uint64_t opslimit;   /* PASSPHRASE: Argon2id parameters for sealing */
    size_t   memlimit;
};

/* The key id of 32 bytes of key material (a secret key, a passphrase-
 * derived key, a public key): keyed BLAKE2b-64 of a fixed string, so it
 * names the key without revealing anything about it. */
void snapshot_key_id_of(const uint8_t material[KEY_BYTES], uint8_t id[RS_SNAPSHOT_KEY_ID_BYTES]);

/* A key struct with a locked secret buffer of secret_len (0: none). */
rs_code snapshot_key_alloc(rs_snapshot_key_kind kind, size_t secret_len, rs_snapshot_key **out, rs_err *err);

/* Refuses a lone public key where a secret is needed (RS_E_AUTH). */
rs_code snapshot_key_refuse_public(const rs_snapshot_key *k, rs_err *err);

/* The content hash of files and archives (snapshot_hash.c). */
struct content_hash {
    void *st;
};
rs_code snapshot_content_hash_init(struct content_hash *h, rs_err *err);
void snapshot_content_hash_update(struct content_hash *h, const void *p, size_t len);
/* Writes the hash and releases the state. */
void snapshot_content_hash_final(struct content_hash *h, uint8_t out[RS_SNAPSHOT_HASH_BYTES]);
/* Releases the state without a result (error paths). NULL state allowed. */
void snapshot_content_hash_release(struct content_hash *h);

/* ------------------------------------------------------------------ */
/* The sealed-stream header (snapshot_header.c, docs/format.md)        */
/* ------------------------------------------------------------------ */

/* Wire constants: changing any breaks every archive written. */
#define SEAL_MAGIC         "\x89RSEAL\r\n"
#define SEAL_MAGIC_LEN     8
#define SEAL_FIXED_LEN     28   /* magic .. key id */
#define SEAL_HEADER_MAX    512  /* a reader refuses a longer header */
#define SEAL_CONTENT_SNAPSHOT 1 /* a pax tar of a checkpoint and its manifest */
#define SEAL_COMPRESSION_PER_CHUNK 1
#define SEAL_CHUNK_MAX     (16u * 1024 * 1024) /* largest chunk_bytes a reader accepts */
#define SEAL_PWHASH_MEM_MAX (1024ull * 1024 * 1024)
#define SEAL_PWHASH_OPS_MAX 64u

enum seal_key_mode {
    SEAL_MODE_SECRET = 1,     /* data key wrapped with secretbox under the key */
    SEAL_MODE_PASSPHRASE = 2, /* wrapped under Argon2id(passphrase, salt) */
    SEAL_MODE_PUBLIC = 3,     /* sealed to a public key with crypto_box_seal */
};

/* Chunk kinds: the first plaintext byte of every chunk. Wire constants. */
enum chunk_kind {
    CHUNK_RAW = 0,  /* tar bytes as they are */
    CHUNK_ZSTD = 1, /* part of a zstd stream that decodes to tar bytes */
};

struct seal_header {
    uint16_t version;
    uint8_t  content;
    uint8_t  compression;
    uint8_t  key_mode;
    uint32_t chunk_bytes;
    uint8_t  key_id[RS_SNAPSHOT_KEY_ID_BYTES];
    uint8_t  salt[crypto_pwhash_SALTBYTES];  /* PASSPHRASE */
    uint64_t opslimit, memlimit;             /* PASSPHRASE */
    uint8_t  nonce[crypto_secretbox_NONCEBYTES];           /* SECRET, PASSPHRASE */
    uint8_t  wrapped[KEY_BYTES + crypto_secretbox_MACBYTES]; /* SECRET, PASSPHRASE */
    uint8_t  sealed[KEY_BYTES + crypto_box_SEALBYTES];    /* PUBLIC */
    uint8_t  stream[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    size_t   len;                 /* encoded length */
    uint8_t  raw[SEAL_HEADER_MAX]; /* the encoded bytes: authenticated with chunk 0 */
};

/* Fills h for sealing with key: a fresh data key dk, wrapped for the key's
 * mode (Argon2id runs here for a passphrase). The stream field is set by
 * the caller before snapshot_seal_header_encode. */
rs_code snapshot_seal_header_create(const rs_snapshot_key *key, uint32_t chunk_bytes, struct seal_header *h,
                                    uint8_t dk[KEY_BYTES], rs_err *err);
/* Encodes h into h->raw and h->len. */
void snapshot_seal_header_encode(struct seal_header *h);
/* Decodes p (len bytes, at least the fixed part): checks magic, version,
 * lengths and every field's range. */
rs_code snapshot_seal_header_decode(const uint8_t *p, size_t len, struct seal_header *h, rs_err *err);
/* Bytes the whole header needs, from its fixed part (p has SEAL_FIXED_LEN). */
rs_code snapshot_seal_header_length(const uint8_t *p, size_t *len, rs_err *err);
/* Recovers the data key with key: "sealed with key X, you gave key Y",
 * "wrong passphrase", "public key only" are RS_E_AUTH. */
rs_code snapshot_seal_header_open(const struct seal_header *h, const rs_snapshot_key *key, uint8_t dk[KEY_BYTES],
                                  rs_err *err);

/* The manifest MAC key: crypto_kdf subkey 1 of the data key, context
 * "rsmanif1". */
void snapshot_manifest_mac_key(const uint8_t dk[KEY_BYTES], uint8_t mk[KEY_BYTES]);

/* ------------------------------------------------------------------ */
/* Write stages: push bytes to the next stage                          */
/* ------------------------------------------------------------------ */

struct wstage;
struct wstage_ops {
    const char *name;
    /* kind: for the zstd stage, whether to compress these bytes
     * (CHUNK_ZSTD) or pass them (CHUNK_RAW); after it, what the bytes are. */
    rs_code (*write)(struct wstage *st, const uint8_t *p, size_t len, enum chunk_kind kind, rs_err *err);
    rs_code (*finish)(struct wstage *st, rs_err *err); /* flushes, then finishes next */
    void (*destroy)(struct wstage *st);                /* this stage only */
};
struct wstage {
    const struct wstage_ops *ops;
    struct wstage *next;
};

/* zstd: compresses CHUNK_ZSTD runs (each run one or more whole frames),
 * passes CHUNK_RAW through. */
rs_code snapshot_zstd_stage_create(int level, int threads, struct wstage *next, struct wstage **out, rs_err *err);

/* encrypt: writes the header, then secretstream chunks of at most
 * chunk_bytes plaintext (one kind each), the last tagged FINAL. dk receives
 * the data key (for the manifest MAC); header_out, when not NULL, a copy. */
rs_code snapshot_encrypt_stage_create(const rs_snapshot_key *key, size_t chunk_bytes, struct wstage *next,
                                      uint8_t dk[KEY_BYTES], struct seal_header *header_out, struct wstage **out,
                                      rs_err *err);

/* pipe: runs next (and what follows it) on a worker thread, through a
 * bounded pool of buffers. */
rs_code snapshot_pipe_stage_create(struct wstage *next, struct wstage **out, rs_err *err);

/* out: counts and hashes the archive bytes, hands them to the sink. */
rs_code snapshot_out_stage_create(const rs_snapshot_sink *sink, struct wstage **out, rs_err *err);
void snapshot_out_stage_result(struct wstage *st, uint64_t *bytes, uint8_t hash[RS_SNAPSHOT_HASH_BYTES]);

/* Destroys a chain from its first stage. */
void snapshot_wstage_chain_destroy(struct wstage *first);

/* ------------------------------------------------------------------ */
/* Read stages: pull bytes from the previous stage                     */
/* ------------------------------------------------------------------ */

struct rstage;
struct rstage_ops {
    const char *name;
    /* Fills buf with up to cap bytes of one kind; *got == 0 at the end. */
    rs_code (*read)(struct rstage *st, uint8_t *buf, size_t cap, size_t *got, enum chunk_kind *kind, rs_err *err);
    void (*destroy)(struct rstage *st);
};
struct rstage {
    const struct rstage_ops *ops;
    struct rstage *prev;
};

/* in: reads the user's source, counts and hashes what it read. */
rs_code snapshot_in_stage_create(const rs_snapshot_source *src, rs_snapshot_progress_fn progress, void *progress_arg,
                                 struct rstage **out, rs_err *err);
void snapshot_in_stage_result(struct rstage *st, uint64_t *bytes, uint8_t hash[RS_SNAPSHOT_HASH_BYTES]);

/* decrypt: reads and opens the header with key, then verifies each chunk;
 * refuses a truncated stream ("archive truncated") and bytes after the
 * final chunk. h_out receives the header, dk the data key. */
rs_code snapshot_decrypt_stage_create(struct rstage *prev, const rs_snapshot_key *key, struct seal_header *h_out,
                                      uint8_t dk[KEY_BYTES], struct rstage **out, rs_err *err);

/* unzstd: decodes CHUNK_ZSTD runs, passes CHUNK_RAW; yields tar bytes. */
rs_code snapshot_unzstd_stage_create(struct rstage *prev, struct rstage **out, rs_err *err);

/* Destroys a chain from its last stage back. */
void snapshot_rstage_chain_destroy(struct rstage *last);

/* ------------------------------------------------------------------ */
/* Tar (snapshot_tar_write.c, snapshot_tar_read.c)                     */
/* ------------------------------------------------------------------ */

/* Wire constants: names inside the tar. */
#define TAR_DB_PREFIX     "db/"
#define TAR_MANIFEST_NAME "manifest.json"
#define MANIFEST_MAX_BYTES (64u * 1024 * 1024)

struct tar_writer;
rs_code snapshot_tar_writer_open(struct wstage *next, struct tar_writer **out, rs_err *err);
/* Adds size bytes read from fd as regular file name; hash receives the
 * BLAKE2b-256 of its content. done counts sealed bytes for progress. */
rs_code snapshot_tar_writer_add_fd(struct tar_writer *tw, const char *name, int fd, uint64_t size, enum chunk_kind kind,
                                   uint8_t hash[RS_SNAPSHOT_HASH_BYTES], rs_err *err);
rs_code snapshot_tar_writer_add_bytes(struct tar_writer *tw, const char *name, const uint8_t *p, size_t len,
                                      enum chunk_kind kind, rs_err *err);
/* Writes the end-of-archive marker (still needs the chain finished). */
rs_code snapshot_tar_writer_close(struct tar_writer *tw, rs_err *err);
void snapshot_tar_writer_destroy(struct tar_writer *tw);
/* Progress hook for snapshot_tar_writer_add_fd: called after each block. */
void snapshot_tar_writer_on_progress(struct tar_writer *tw, void (*fn)(void *arg, size_t n), void *arg);

/* One regular file extracted. */
struct extracted_file {
    char     name[256];
    uint64_t size;
    uint8_t  hash[RS_SNAPSHOT_HASH_BYTES];
};
struct extract_result {
    struct extracted_file *files; /* malloc'd */
    size_t   n_files;
    uint8_t *manifest;            /* malloc'd, NUL-terminated */
    size_t   manifest_len;
};
/* Extracts the tar read from prev into the directory dirfd: "db/NAME" as
 * files (flat, created exclusively, fsync'd), the manifest into memory.
 * Refuses any other name, "..", absolute paths, links and special files. */
rs_code snapshot_tar_extract(struct rstage *prev, int dirfd, struct extract_result *res, rs_err *err);
void snapshot_extract_result_release(struct extract_result *res);

/* ------------------------------------------------------------------ */
/* Compressibility probe (snapshot_probe.c)                            */
/* ------------------------------------------------------------------ */

/* CHUNK_ZSTD when zstd at level saves at least min_saving_pct percent on a
 * sample of the file, else CHUNK_RAW (its blocks are compressed already). */
enum chunk_kind snapshot_probe_compressibility(int fd, uint64_t size, int level, int min_saving_pct);

/* ------------------------------------------------------------------ */
/* Manifests (snapshot_manifest.c)                                     */
/* ------------------------------------------------------------------ */

/* The manifest's facts as the sealer knows them before the files. */
struct manifest_head {
    uint64_t seq, version;
    uint8_t  database_id[16];
    const char *source;
    const char *host;
    const struct seal_header *header;
};

rs_code snapshot_manifest_create(const struct manifest_head *head, const uint8_t dk[KEY_BYTES],
                                 rs_snapshot_manifest **out, rs_err *err);
/* The content digest, known once the files are sealed. */
void snapshot_manifest_set_digest(rs_snapshot_manifest *m, const uint8_t digest[RS_STORE_DIGEST_BYTES],
                                  const rs_store_digest_stats *stats);
rs_code snapshot_manifest_add_file(rs_snapshot_manifest *m, const char *name, uint64_t size,
                                   const uint8_t hash[RS_SNAPSHOT_HASH_BYTES], int compressed, rs_err *err);
/* The manifest as it goes into the archive (no archive size and hash):
 * compact JSON, malloc'd. */
rs_code snapshot_manifest_inner_json(const rs_snapshot_manifest *m, char **out, size_t *len, rs_err *err);
void snapshot_manifest_set_archive(rs_snapshot_manifest *m, uint64_t bytes, const uint8_t hash[RS_SNAPSHOT_HASH_BYTES]);
/* Parses the manifest found inside an archive. */
rs_code snapshot_manifest_parse_inner(const uint8_t *p, size_t len, const uint8_t dk[KEY_BYTES],
                                      rs_snapshot_manifest **out, rs_err *err);
/* Checks the extracted files against the manifest: same set, sizes, hashes. */
rs_code snapshot_manifest_check_files(const rs_snapshot_manifest *m, const struct extract_result *res, rs_err *err);
/* Checks a detached manifest against the one inside the archive and the
 * archive's size and hash as read. */
rs_code snapshot_manifest_check_detached(const rs_snapshot_manifest *detached, const rs_snapshot_manifest *inner,
                                         uint64_t archive_bytes, const uint8_t hash[RS_SNAPSHOT_HASH_BYTES],
                                         rs_err *err);

/* How a snapshot's temporaries are named (with the writer's pid after the
 * mark, so rs_snapshot_sweep tells a crashed writer's from a live one's):
 * the checkpoint ".<name of db>.snapshot-<pid>-XXXXXX" beside the
 * database, an archive or manifest being written "<name>.tmp-<pid>-XXXXXX"
 * beside its final name. */
#define SNAPSHOT_CHECKPOINT_MARK ".snapshot-"
#define SNAPSHOT_TEMP_MARK       RS_ATOMIC_FILE_TEMP_MARK

#endif
