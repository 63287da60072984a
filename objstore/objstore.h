/**
 * @file objstore.h
 * Object stores behind one interface: S3-compatible buckets
 * (`s3://bucket/prefix`) and local or mounted directories (`file:///path`).
 *
 * A store is opened from a URL; keys are relative to the URL's prefix. The
 * generic layer above the backends validates keys, retries what can succeed
 * on another attempt (exponential backoff with full jitter, a bounded number
 * of attempts and a bounded total time), logs and counts. Uploads of unknown
 * length stream through a bounded set of part buffers; downloads of large
 * objects fetch ranges in parallel and deliver them in order.
 *
 * Contract, the same for every backend:
 * - an object is visible whole or not at all, and never under its final name
 *   before it is complete (and, in a directory, fsynced);
 * - a missing object is RS_E_NOTFOUND; removing a missing object succeeds;
 * - list returns keys in byte order;
 * - a put-if-absent never replaces an object (RS_E_EXISTS).
 *
 * Errors name the store, the key, and for S3 the endpoint, HTTP status and
 * S3 error code; never a secret, a signature or a credential.
 *
 * Threads: a store may be used from many threads at once; an upload or a
 * reader from one thread at a time. docs/storage.md is the user's guide.
 */
#ifndef RS_OBJSTORE_H
#define RS_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/api.h"
#include "common/err.h"

/** Longest key in bytes, the URL's prefix included (S3's limit). */
#define RS_OBJSTORE_KEY_MAX 1024
/** Room for an ETag (without quotes) and its NUL. */
#define RS_OBJSTORE_ETAG_MAX 128
/** Smallest part of a multipart upload (S3's rule for all but the last). */
#define RS_OBJSTORE_PART_MIN (5u << 20)
/** Largest part (S3's limit). */
#define RS_OBJSTORE_PART_MAX ((size_t)5 << 30)
/** Most parts in one multipart upload (S3's limit). */
#define RS_OBJSTORE_PARTS_MAX 10000u
/** A length meaning "to the end of the object". */
#define RS_OBJSTORE_TO_END UINT64_MAX

/** An open store. */
typedef struct rs_objstore rs_objstore;

/** How S3 requests name the bucket. */
typedef enum rs_objstore_addressing {
    RS_OBJSTORE_ADDRESSING_AUTO = 0, /**< virtual-hosted on AWS's endpoints, path-style elsewhere */
    RS_OBJSTORE_ADDRESSING_PATH,     /**< https://endpoint/bucket/key */
    RS_OBJSTORE_ADDRESSING_VIRTUAL,  /**< https://bucket.endpoint/key */
} rs_objstore_addressing;

/**
 * How a store is opened. A plain struct: zero means the default, shown
 * after each field. Strings are borrowed for the call to rs_objstore_open.
 */
typedef struct rs_objstore_options {
    /* S3 (ignored by other stores) */
    const char *s3_endpoint;   /**< default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, then AWS's */
    const char *s3_region;     /**< default $AWS_REGION, $AWS_DEFAULT_REGION, then us-east-1 */
    const char *s3_profile;    /**< credentials file profile: default $AWS_PROFILE, then "default" */
    const char *s3_ca_file;    /**< PEM CA bundle for HTTPS; default the system's */
    rs_objstore_addressing s3_addressing; /**< default auto */
    const char *s3_storage_class;  /**< x-amz-storage-class of new objects; default none */
    const char *s3_sse;            /**< x-amz-server-side-encryption: "AES256" or "aws:kms" */
    const char *s3_sse_kms_key_id; /**< the KMS key of "aws:kms" */
    uint32_t connect_timeout_ms;   /**< per connection, default 10000 */
    uint32_t stall_timeout_ms;     /**< a transfer slower than 1 KiB/s for this long fails, default 30000 */

    /* transfers */
    size_t   part_bytes;       /**< part of a multipart upload or ranged download, default 16 MiB */
    unsigned parallel;         /**< parts or ranges in flight, default 4 */

    /* retries */
    unsigned max_attempts;     /**< per request, default 6 (1: no retries) */
    uint32_t retry_base_ms;    /**< first backoff bound, doubled per attempt, default 200 */
    uint32_t retry_max_ms;     /**< largest backoff bound, default 10000 */
    uint32_t retry_total_ms;   /**< no new attempt after this long, default 120000 */
} rs_objstore_options;

/** What the store knows about an object. */
typedef struct rs_objstore_info {
    uint64_t size_bytes;                 /**< the object's length */
    int64_t  mtime_unix_ms;              /**< last modified; 0 if unknown */
    char     etag[RS_OBJSTORE_ETAG_MAX]; /**< without quotes; "" if unknown */
} rs_objstore_info;

/**
 * Where an object's bytes go: called in order, from one thread at a time
 * (not necessarily the caller's). The bytes are borrowed for the call. A
 * failure it returns stops the transfer and is returned as is.
 */
typedef struct rs_objstore_sink {
    /** takes len bytes at p (borrowed for the call); arg is the sink's */
    rs_code (*write)(void *arg, const uint8_t *p, size_t len, rs_err *err);
    void *arg; /**< passed to write */
} rs_objstore_sink;

/**
 * Opens a store. @p url is `s3://bucket[/prefix]`, `file:///path` or a
 * plain path (a directory, created if missing). The rest of a URL is taken
 * as written (no percent-decoding), as the AWS CLI does. S3 credentials come
 * from $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY and $AWS_SESSION_TOKEN,
 * else from the shared credentials file ($AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials). Opening sends no request.
 * @param url the store's URL (copied)
 * @param opt options, or NULL for the defaults
 * @param out receives the store on RS_OK (close it with rs_objstore_close)
 * @param err filled on failure
 * @return RS_OK; RS_E_INVALID (bad URL, bucket name, option), RS_E_AUTH (no
 *         credentials), RS_E_IO (directory), RS_E_NOMEM
 */
RS_API rs_code rs_objstore_open(const char *url, const rs_objstore_options *opt, rs_objstore **out, rs_err *err);

/**
 * Opens the store holding an object URL and splits off the object's key:
 * `s3://b/dir/name.rsa` opens `s3://b/dir` and gives "name.rsa".
 * @param url the object's URL (copied)
 * @param opt options, or NULL
 * @param out receives the store on RS_OK
 * @param key receives the key on RS_OK (malloc'd; the caller frees it)
 * @param err filled on failure
 * @return as rs_objstore_open; RS_E_INVALID when the URL names no object
 */
RS_API rs_code rs_objstore_open_object(const char *url, const rs_objstore_options *opt, rs_objstore **out,
                                       char **key, rs_err *err);

/**
 * Non-zero when @p s looks like a store URL (`s3://`, `file://`) rather
 * than a local path.
 * @param s a string (borrowed)
 * @return 1 or 0
 */
RS_API int rs_objstore_is_url(const char *s);

/**
 * Closes a store. Uploads and readers must be closed first. NULL allowed.
 * @param s the store (taken)
 */
RS_API void rs_objstore_close(rs_objstore *s);

/**
 * The store as people see it in messages: its URL, and for S3 the
 * endpoint. Never a credential.
 * @param s the store
 * @return text borrowed until rs_objstore_close
 */
RS_API const char *rs_objstore_describe(const rs_objstore *s);

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/**
 * Puts an object from memory in one request (up to the part size; larger
 * ones go through an upload), replacing any object of that name.
 * @param s the store
 * @param key the object's key (borrowed)
 * @param p the bytes (borrowed for the call)
 * @param len their number
 * @param info receives the new object's ETag and size, or NULL
 * @param err filled on failure
 * @return RS_OK or the failure after retries
 */
RS_API rs_code rs_objstore_put(rs_objstore *s, const char *key, const uint8_t *p, size_t len,
                               rs_objstore_info *info, rs_err *err);

/**
 * Puts an object only if no object has that key: the commit point of
 * manifests and the claim of locks. On S3 a HEAD first refuses a taken key,
 * then the PUT carries `If-None-Match: *`, which radosgw 16 and AWS honour
 * atomically (on a server that ignores it, two writers racing between HEAD
 * and PUT can both succeed: docs/storage.md). If an attempt's reply was
 * lost and the retry finds the object, it counts as ours when its ETag is
 * the MD5 of these bytes. In a directory the object is linked into place
 * without replacing (renameat2 RENAME_NOREPLACE, or link). At most the
 * part size.
 * @param s the store
 * @param key the object's key (borrowed)
 * @param p the bytes (borrowed for the call)
 * @param len their number
 * @param info receives the new object's ETag and size, or NULL
 * @param err filled on failure
 * @return RS_OK; RS_E_EXISTS when the key is taken; RS_E_INVALID when
 *         @p len exceeds the part size
 */
RS_API rs_code rs_objstore_put_if_absent(rs_objstore *s, const char *key, const uint8_t *p, size_t len,
                                         rs_objstore_info *info, rs_err *err);

/** An object being written from a stream of unknown length. */
typedef struct rs_objstore_upload rs_objstore_upload;

/**
 * Starts writing an object whose length is not known in advance. Bytes
 * collect in a part buffer; an object that fits in one part is sent with
 * one PUT at commit, a larger one as a multipart upload with up to
 * `parallel` parts in flight. Memory stays within part size x (parallel +
 * 1) whatever the object's size. Without a size hint an S3 object holds at
 * most 10000 parts; @p size_hint_bytes (0: none) raises the part size so
 * that an object of about that size fits.
 * Nothing is visible under @p key until rs_objstore_upload_commit succeeds.
 * @param s the store (must outlive the upload)
 * @param key the object's key (copied)
 * @param size_hint_bytes the expected size, or 0
 * @param out receives the upload on RS_OK
 * @param err filled on failure
 * @return RS_OK, RS_E_INVALID (key), RS_E_NOMEM
 */
RS_API rs_code rs_objstore_upload_open(rs_objstore *s, const char *key, uint64_t size_hint_bytes,
                                       rs_objstore_upload **out, rs_err *err);

/**
 * Appends bytes. Blocks while every part buffer is in flight. After any
 * failure the upload is failed: later writes and the commit return that
 * first error.
 * @param u the upload
 * @param p the bytes (borrowed for the call)
 * @param len their number
 * @param err filled on failure
 * @return RS_OK or the upload's failure
 */
RS_API rs_code rs_objstore_upload_write(rs_objstore_upload *u, const uint8_t *p, size_t len, rs_err *err);

/**
 * The upload as a sink (for writers that take one).
 * @param u the upload (borrowed by the sink)
 * @return a sink whose write is rs_objstore_upload_write
 */
RS_API rs_objstore_sink rs_objstore_upload_sink(rs_objstore_upload *u);

/**
 * Sends what remains and makes the object visible under its key. On
 * failure a multipart upload is aborted and nothing is visible.
 * @param u the upload (still to be closed)
 * @param info receives the object's size and ETag, or NULL
 * @param err filled on failure
 * @return RS_OK or the failure
 */
RS_API rs_code rs_objstore_upload_commit(rs_objstore_upload *u, rs_objstore_info *info, rs_err *err);

/**
 * Ends an upload; one not committed is aborted (its parts are removed).
 * NULL allowed.
 * @param u the upload (taken)
 */
RS_API void rs_objstore_upload_close(rs_objstore_upload *u);

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/**
 * Reads an object's bytes [off, off + len) into a sink in one stream.
 * A retry after part of the bytes arrived resumes where they stopped, on
 * the same version of the object (If-Match), so the sink sees each byte
 * once. @p len RS_OBJSTORE_TO_END reads to the end.
 * @param s the store
 * @param key the object's key (borrowed)
 * @param off the first byte
 * @param len how many bytes, or RS_OBJSTORE_TO_END
 * @param to the sink (borrowed for the call)
 * @param info receives size (of the whole object), ETag, time, or NULL
 * @param err filled on failure
 * @return RS_OK, RS_E_NOTFOUND, RS_E_INVALID (range past the end),
 *         RS_E_CORRUPT (the object changed during the read), or the failure
 */
RS_API rs_code rs_objstore_get(rs_objstore *s, const char *key, uint64_t off, uint64_t len,
                               const rs_objstore_sink *to, rs_objstore_info *info, rs_err *err);

/**
 * Reads a whole object into memory, refusing one larger than @p max_bytes
 * before reading it.
 * @param s the store
 * @param key the object's key (borrowed)
 * @param max_bytes the largest size accepted
 * @param out receives the bytes on RS_OK (malloc'd, the caller frees; a
 *        NUL follows them, not counted)
 * @param out_len receives their number
 * @param info receives the object's info, or NULL
 * @param err filled on failure
 * @return RS_OK, RS_E_NOTFOUND, RS_E_INVALID (too large), or the failure
 */
RS_API rs_code rs_objstore_get_all(rs_objstore *s, const char *key, size_t max_bytes, uint8_t **out,
                                   size_t *out_len, rs_objstore_info *info, rs_err *err);

/** A parallel, in-order reader of one object. */
typedef struct rs_objstore_reader rs_objstore_reader;

/**
 * Opens an object for reading with up to `parallel` ranged GETs of `part
 * bytes` in flight, delivered in order. Memory stays within part size x
 * (parallel + 1). Every range asks for the version the first reply named
 * (If-Match), so a replaced object fails the read instead of mixing two.
 * @param s the store (must outlive the reader)
 * @param key the object's key (copied)
 * @param out receives the reader on RS_OK
 * @param err filled on failure
 * @return RS_OK, RS_E_NOTFOUND, or the failure
 */
RS_API rs_code rs_objstore_reader_open(rs_objstore *s, const char *key, rs_objstore_reader **out,
                                       rs_err *err);

/**
 * The object's size, ETag and time, as of the open.
 * @param r the reader
 * @return borrowed until rs_objstore_reader_close
 */
RS_API const rs_objstore_info *rs_objstore_reader_info(const rs_objstore_reader *r);

/**
 * Copies the next bytes into @p buf; *got == 0 means the end.
 * @param r the reader
 * @param buf where the bytes go
 * @param cap its size
 * @param got receives how many were copied
 * @param err filled on failure
 * @return RS_OK or the failure of a range (after its retries)
 */
RS_API rs_code rs_objstore_reader_read(rs_objstore_reader *r, uint8_t *buf, size_t cap, size_t *got,
                                       rs_err *err);

/**
 * Stops the ranges in flight and frees the reader. NULL allowed.
 * @param r the reader (taken)
 */
RS_API void rs_objstore_reader_close(rs_objstore_reader *r);

/**
 * Downloads a whole object into a sink with parallel ranged GETs (a
 * reader, without the copy).
 * @param s the store
 * @param key the object's key (borrowed)
 * @param to the sink (borrowed for the call)
 * @param info receives the object's info, or NULL
 * @param err filled on failure
 * @return RS_OK, RS_E_NOTFOUND, or the failure
 */
RS_API rs_code rs_objstore_download(rs_objstore *s, const char *key, const rs_objstore_sink *to,
                                    rs_objstore_info *info, rs_err *err);

/**
 * An object's size, ETag and time.
 * @param s the store
 * @param key the object's key (borrowed)
 * @param info receives them
 * @param err filled on failure
 * @return RS_OK, RS_E_NOTFOUND, or the failure
 */
RS_API rs_code rs_objstore_head(rs_objstore *s, const char *key, rs_objstore_info *info, rs_err *err);

/**
 * Called for each object of a listing, in key order. Returning anything
 * but RS_OK stops the listing with that code.
 * @param arg the caller's argument
 * @param key the key, relative to the store (borrowed for the call)
 * @param info size, ETag, time (borrowed for the call)
 * @param err for the callback's own failure
 */
typedef rs_code (*rs_objstore_list_fn)(void *arg, const char *key, const rs_objstore_info *info,
                                       rs_err *err);

/**
 * Lists the objects whose keys start with @p prefix, in key order, page by
 * page (each page retried on its own).
 * @param s the store
 * @param prefix a key prefix ("" for all; borrowed)
 * @param fn called for each object
 * @param arg passed to fn
 * @param err filled on failure
 * @return RS_OK, fn's failure, or the store's
 */
RS_API rs_code rs_objstore_list(rs_objstore *s, const char *prefix, rs_objstore_list_fn fn, void *arg,
                                rs_err *err);

/* ------------------------------------------------------------------ */
/* Removing                                                            */
/* ------------------------------------------------------------------ */

/**
 * Removes an object; a missing one is not an error.
 * @param s the store
 * @param key the object's key (borrowed)
 * @param err filled on failure
 * @return RS_OK or the failure
 */
RS_API rs_code rs_objstore_remove(rs_objstore *s, const char *key, rs_err *err);

/**
 * Removes many objects, up to 1000 per request on S3 (DeleteObjects).
 * Missing ones are not errors; the first key S3 refused is named.
 * @param s the store
 * @param keys the keys (borrowed for the call)
 * @param n their number
 * @param err filled on failure
 * @return RS_OK or the first failure
 */
RS_API rs_code rs_objstore_remove_many(rs_objstore *s, const char *const *keys, size_t n, rs_err *err);

/**
 * Called for each incomplete multipart upload.
 * @param arg the caller's argument
 * @param key the upload's key, relative to the store (borrowed)
 * @param upload_id the store's id for it (borrowed)
 * @param initiated_unix_ms when it started; 0 if unknown
 * @param err for the callback's own failure
 */
typedef rs_code (*rs_objstore_upload_fn)(void *arg, const char *key, const char *upload_id,
                                         int64_t initiated_unix_ms, rs_err *err);

/**
 * Lists the incomplete multipart uploads under @p prefix (left behind by
 * a process that died mid-upload), in key order.
 * @param s the store
 * @param prefix a key prefix (borrowed)
 * @param fn called for each upload
 * @param arg passed to fn
 * @param err filled on failure
 * @return RS_OK, fn's failure, or the store's
 */
RS_API rs_code rs_objstore_list_uploads(rs_objstore *s, const char *prefix, rs_objstore_upload_fn fn,
                                        void *arg, rs_err *err);

/**
 * Aborts an incomplete multipart upload, freeing its parts. An upload
 * already gone is not an error.
 * @param s the store
 * @param key the upload's key (borrowed)
 * @param upload_id its id as listed (borrowed)
 * @param err filled on failure
 * @return RS_OK or the failure
 */
RS_API rs_code rs_objstore_abort_upload(rs_objstore *s, const char *key, const char *upload_id, rs_err *err);

/* ------------------------------------------------------------------ */
/* Counters and testing                                                */
/* ------------------------------------------------------------------ */

/** Counters since the store was opened. */
typedef struct rs_objstore_stats {
    uint64_t requests;    /**< calls into the backend (one per HTTP request on S3) */
    uint64_t retries;     /**< attempts after a retryable failure */
    uint64_t failures;    /**< operations that failed after their attempts */
    uint64_t bytes_up;    /**< object bytes sent */
    uint64_t bytes_down;  /**< object bytes received */
} rs_objstore_stats;

/**
 * Reads the counters (each is exact; together, a snapshot in motion).
 * @param s the store
 * @param out receives them
 */
RS_API void rs_objstore_stats_get(const rs_objstore *s, rs_objstore_stats *out);

/** The operations a fault can target (one per backend call). */
typedef enum rs_objstore_op {
    RS_OBJSTORE_OP_PUT = 0,      /**< a one-request put (plain or if-absent) */
    RS_OBJSTORE_OP_MPU_BEGIN,    /**< starting a multipart upload */
    RS_OBJSTORE_OP_MPU_PART,     /**< sending one part */
    RS_OBJSTORE_OP_MPU_COMPLETE, /**< completing a multipart upload */
    RS_OBJSTORE_OP_MPU_ABORT,
    RS_OBJSTORE_OP_MPU_LIST,     /**< one page of incomplete uploads */
    RS_OBJSTORE_OP_GET,          /**< one GET (or one range of a reader) */
    RS_OBJSTORE_OP_HEAD,
    RS_OBJSTORE_OP_LIST,         /**< one page of a listing */
    RS_OBJSTORE_OP_REMOVE,
    RS_OBJSTORE_OP_REMOVE_MANY,  /**< one batch of up to 1000 */
    RS_OBJSTORE_OP__COUNT
} rs_objstore_op;

/** A fault to inject (rs_objstore_fault_wrap). */
typedef struct rs_objstore_fault {
    rs_objstore_op op;     /**< which calls */
    unsigned nth;          /**< the first call to fail, counting from 1 */
    unsigned times;        /**< how many calls fail from there; 0: all of them */
    rs_code  code;         /**< what they return (RS_E_BUSY is retried, RS_E_AUTH is not) */
    uint64_t after_bytes;  /**< GET only: deliver this many bytes first, then fail */
} rs_objstore_fault;

/**
 * For tests of code built on object stores: a store that passes every call
 * to @p inner except the chosen calls of one operation, which fail with
 * @p fault->code (a GET after delivering @p fault->after_bytes). Retries,
 * validation and counting happen above it as for any store.
 * @param inner the store to wrap (taken, even on failure)
 * @param fault what to inject (copied)
 * @param out receives the wrapping store on RS_OK
 * @param err filled on failure
 * @return RS_OK or RS_E_NOMEM, RS_E_INVALID
 */
RS_API rs_code rs_objstore_fault_wrap(rs_objstore *inner, const rs_objstore_fault *fault, rs_objstore **out,
                                      rs_err *err);

/**
 * How many calls of @p op reached a fault store (failed ones included).
 * @param s a store made by rs_objstore_fault_wrap
 * @param op the operation
 * @return the count, or 0 for any other store
 */
RS_API uint64_t rs_objstore_fault_calls(const rs_objstore *s, rs_objstore_op op);

#endif
