/*
 * objstore/ private declarations: the backend ops table, the store object
 * the generic layer keeps around a backend, and what the module's files
 * share. Seen by the files of objstore/ only.
 */
#ifndef RS_OBJSTORE_INT_H
#define RS_OBJSTORE_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "objstore/objstore.h"

/* ------------------------------------------------------------------ */
/* The backend contract                                                */
/* ------------------------------------------------------------------ */

/* One part of a multipart upload, as the backend acknowledged it. */
struct objstore_part {
    unsigned number;                  /* from 1 */
    char     etag[RS_OBJSTORE_ETAG_MAX];
};

/* One entry of a listing page: an object, or an incomplete upload. */
struct objstore_entry {
    char            *key;             /* relative to the store; malloc'd */
    char            *upload_id;       /* uploads only; malloc'd */
    rs_objstore_info info;            /* objects: size, ETag, time; uploads: time */
};

/* A page of a listing. The backend appends entries (objstore_page_add) and
 * sets next/truncated; the generic layer calls the user's function after a
 * page arrived whole, so a retried page never repeats a callback. */
struct objstore_page {
    struct objstore_entry *items;
    size_t   n, cap;
    char    *next[2];                 /* continuation: token, or key and upload-id markers */
    int      truncated;
};

/*
 * Every backend gives the same guarantees (objstore.h's contract): a put is
 * visible whole or not at all; a missing key is RS_E_NOTFOUND; removing a
 * missing key succeeds; list pages come in key order. Keys reach a backend
 * validated (objstore_key_check) and relative to the store; the backend
 * adds its own prefix or directory. A backend classifies its failures by
 * code and the generic layer decides on retries (objstore_retryable):
 * RS_E_NETWORK, RS_E_TIMEOUT and RS_E_BUSY are tried again, nothing else.
 * Backends never sleep, retry or log above debug level.
 */
struct rs_objstore_ops {
    const char *name;                 /* "s3", "file", "fault": logs and messages */
    unsigned    features;             /* OBJSTORE_F_* */
    rs_code (*put)(void *be, const char *key, const uint8_t *p, size_t len, int if_absent,
                   rs_objstore_info *info, rs_err *err);
    rs_code (*mpu_begin)(void *be, const char *key, char **upload_id, rs_err *err);
    /* offset is where the part starts in the object (parts are sent out of
     * order); etag receives the part's acknowledgement */
    rs_code (*mpu_part)(void *be, const char *key, const char *upload_id, unsigned number, uint64_t offset,
                        const uint8_t *p, size_t len, char etag[RS_OBJSTORE_ETAG_MAX], rs_err *err);
    rs_code (*mpu_complete)(void *be, const char *key, const char *upload_id, const struct objstore_part *parts,
                            unsigned n_parts, rs_objstore_info *info, rs_err *err);
    rs_code (*mpu_abort)(void *be, const char *key, const char *upload_id, rs_err *err);
    rs_code (*mpu_list)(void *be, const char *prefix, struct objstore_page *page, rs_err *err);
    /* Fills info (size of the whole object, ETag, time) as soon as the
     * reply's headers arrive, before the first byte reaches the sink; a
     * non-NULL if_match refuses any other version with RS_E_CORRUPT. */
    rs_code (*get)(void *be, const char *key, uint64_t off, uint64_t len, const char *if_match,
                   const rs_objstore_sink *to, rs_objstore_info *info, rs_err *err);
    rs_code (*head)(void *be, const char *key, rs_objstore_info *info, rs_err *err);
    rs_code (*list)(void *be, const char *prefix, struct objstore_page *page, rs_err *err);
    rs_code (*remove)(void *be, const char *key, rs_err *err);
    /* at most OBJSTORE_REMOVE_BATCH keys */
    rs_code (*remove_many)(void *be, const char *const *keys, size_t n, rs_err *err);
    void    (*destroy)(void *be);
};

/* The backend takes any number of parts of any size (a directory). */
#define OBJSTORE_F_PARTS_ANY (1u << 0)

/* S3's DeleteObjects limit. */
#define OBJSTORE_REMOVE_BATCH 1000u

/* ------------------------------------------------------------------ */
/* The store                                                           */
/* ------------------------------------------------------------------ */

struct rs_objstore {
    const struct rs_objstore_ops *ops;
    void               *be;
    unsigned            features;     /* the backend's OBJSTORE_F_* */
    rs_objstore_options opt;          /* defaults filled in; strings not kept */
    char               *describe;     /* "s3://b/p at http://host:port" */
    _Atomic uint64_t    n_requests, n_retries, n_failures, bytes_up, bytes_down;
    _Atomic uint64_t    rng;          /* backoff jitter (splitmix64 state) */
};

/* Wraps a backend into a store, filling the options' defaults; takes be
 * and describe (even on failure). */
rs_code objstore_make(const struct rs_objstore_ops *ops, void *be, char *describe, const rs_objstore_options *opt,
                      rs_objstore **out, rs_err *err);

/* Constructors of the backends. url_rest is what follows "s3://" or the
 * directory's path. */
rs_code objstore_s3_open(const char *url_rest, const rs_objstore_options *opt, void **be, char **describe,
                         rs_err *err);
rs_code objstore_file_open(const char *dir, void **be, char **describe, rs_err *err);
extern const struct rs_objstore_ops objstore_s3_ops, objstore_file_ops;

/* ------------------------------------------------------------------ */
/* The generic layer's shared pieces                                   */
/* ------------------------------------------------------------------ */

/* One attempt of an operation; attempt counts from 1. */
typedef rs_code (*objstore_attempt_fn)(rs_objstore *s, void *ctx, unsigned attempt, rs_err *err);

/* Runs fn until it succeeds, fails in a way another attempt cannot fix,
 * runs out of attempts or of total time; sleeps a full-jitter backoff
 * between attempts and logs each retry. The error keeps the last attempt's
 * message with the attempts and time appended. */
rs_code objstore_retry(rs_objstore *s, rs_objstore_op op, const char *key, objstore_attempt_fn fn, void *ctx,
                       rs_err *err);

/* One put request of a whole object (if_absent: never replacing), with
 * its retries. */
rs_code objstore_put_once(rs_objstore *s, const char *key, const uint8_t *p, size_t len, int if_absent,
                          rs_objstore_info *info, rs_err *err);

/* "put", "multipart part", ...: for logs and messages. */
const char *objstore_op_name(rs_objstore_op op);

/* Non-zero for the codes another attempt may fix. */
int objstore_retryable(rs_code code);

/* The backoff before attempt + 1: a uniform draw in [0, min(max, base x
 * 2^(attempt-1))] (full jitter), given a 64-bit random value. */
uint32_t objstore_backoff_ms(const rs_objstore_options *opt, unsigned attempt, uint64_t random);

/* Checks a key (or, with is_prefix, a listing prefix, which may be empty
 * or end in '/'): at most RS_OBJSTORE_KEY_MAX bytes of UTF-8 without
 * control characters, no leading '/', no empty, "." or ".." segment. */
rs_code objstore_key_check(const char *key, int is_prefix, rs_err *err);

/* Appends an entry to a page (key and upload_id copied; upload_id may be
 * NULL). */
rs_code objstore_page_add(struct objstore_page *page, const char *key, size_t key_len, const char *upload_id,
                          const rs_objstore_info *info, rs_err *err);
/* Frees the entries and continuation, keeping nothing. */
void objstore_page_clear(struct objstore_page *page);

/* Counts a call into the backend (every attempt). */
void objstore_count_request(rs_objstore *s);

/* Appends " (...)" context to an error's message, truncating. */
void objstore_err_append(rs_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Names a thread ("rs-up", "rs-down") for top and debuggers. */
void objstore_thread_name(const char *name);

/* ------------------------------------------------------------------ */
/* S3: Signature V4 (objstore_sigv4.c)                                 */
/* ------------------------------------------------------------------ */

#define OBJSTORE_SHA256_HEX 65      /* 64 hex digits and a NUL */
#define OBJSTORE_SECRET_MAX 256     /* longest secret access key accepted */

/* A request header; the name in lower case. */
struct objstore_header {
    const char *name, *value;
};

/* A query parameter, not yet encoded; value NULL is "" ("?uploads="). */
struct objstore_param {
    const char *name, *value;
};

/* What is signed. path and query are canonical, exactly as sent on the
 * wire: path from objstore_uri_encode, query from objstore_query_canonical.
 * Every header given is signed (host, x-amz-date, x-amz-content-sha256
 * among them). */
struct objstore_sigv4_req {
    const char *method;
    const char *path;
    const char *query;
    const struct objstore_header *headers;
    size_t n_headers;
    const char *payload_sha256;     /* hex */
};

/* Who signs: the secret is borrowed for the call. */
struct objstore_sigv4_key {
    const char *access_key_id;
    const uint8_t *secret;
    size_t secret_len;
    const char *region;
    const char *service;            /* "s3" */
};

void objstore_sha256_hex(const uint8_t *p, size_t len, char out[OBJSTORE_SHA256_HEX]);

/* S3's URI encoding: unreserved characters kept, '/' kept if keep_slash,
 * everything else %XX with upper-case hex. malloc'd; NULL without memory. */
char *objstore_uri_encode(const char *s, int keep_slash);

/* The canonical query string: names and values encoded, sorted by name
 * then value, "name=value" joined by '&'. malloc'd; NULL without memory. */
char *objstore_query_canonical(const struct objstore_param *params, size_t n);

/* The canonical request and the signed-headers list (both malloc'd). */
rs_code objstore_sigv4_canonical(const struct objstore_sigv4_req *r, char **canonical, char **signed_headers,
                                 rs_err *err);

/* The Authorization header's value for amz_date ("20130524T000000Z"). */
rs_code objstore_sigv4_authorization(const struct objstore_sigv4_req *r, const struct objstore_sigv4_key *k,
                                     const char *amz_date, char *out, size_t cap, rs_err *err);

/* ------------------------------------------------------------------ */
/* S3: XML replies (objstore_xml.c)                                    */
/* ------------------------------------------------------------------ */

/* An S3 error reply's fields (truncated to fit). */
struct objstore_s3_error {
    char code[64];
    char message[160];
};

/* <Error>: code and message. */
rs_code objstore_xml_error(const char *body, size_t len, struct objstore_s3_error *out, rs_err *err);
/* <InitiateMultipartUploadResult>: the UploadId (malloc'd). */
rs_code objstore_xml_initiate(const char *body, size_t len, char **upload_id, rs_err *err);
/* <CompleteMultipartUploadResult>: the ETag; or an <Error> sent with a 200,
 * returned in error (code non-empty). */
rs_code objstore_xml_complete(const char *body, size_t len, char etag[RS_OBJSTORE_ETAG_MAX],
                              struct objstore_s3_error *error, rs_err *err);
/* <ListBucketResult> (ListObjectsV2): objects with keys decoded and strip
 * removed; next[0] the continuation token. */
rs_code objstore_xml_list(const char *body, size_t len, const char *strip, struct objstore_page *page, rs_err *err);
/* <ListMultipartUploadsResult>: uploads; next[0] and next[1] the key and
 * upload-id markers. */
rs_code objstore_xml_uploads(const char *body, size_t len, const char *strip, struct objstore_page *page,
                             rs_err *err);
/* <DeleteResult>: the first key S3 could not remove and why (code empty
 * when all went). */
rs_code objstore_xml_delete(const char *body, size_t len, char failed_key[RS_OBJSTORE_KEY_MAX + 1],
                            struct objstore_s3_error *error, rs_err *err);
/* Escapes &, <, >, " and ' for a request body (malloc'd; NULL without
 * memory). */
char *objstore_xml_escape(const char *s);
/* "2013-05-24T00:00:00.000Z" as milliseconds since the epoch; -1 if bad. */
int64_t objstore_iso8601_ms(const char *s);
/* An ETag without its quotes (or surrounding spaces), truncated to fit. */
void objstore_etag_copy(char out[RS_OBJSTORE_ETAG_MAX], const char *s, size_t len);

/* ------------------------------------------------------------------ */
/* S3: HTTP over libcurl (objstore_http.c)                             */
/* ------------------------------------------------------------------ */

struct objstore_http;

/* A request. headers are whole lines ("Name: value"), borrowed. */
struct objstore_http_req {
    const char *method;             /* GET HEAD PUT POST DELETE */
    const char *url;
    const char *const *headers;
    size_t n_headers;
    const uint8_t *body;            /* NULL: none */
    size_t body_len;
    const rs_objstore_sink *sink;   /* a 2xx reply's body; NULL: collected */
    size_t max_body;                /* bound of a collected body */
};

/* A reply: status and the headers S3 uses; body holds a collected body
 * (NUL-terminated, free with objstore_http_reply_free). */
struct objstore_http_reply {
    long     status;
    char     etag[RS_OBJSTORE_ETAG_MAX];
    uint64_t content_length;
    uint64_t range_first, range_total;
    int      has_length, has_range;
    int64_t  last_modified_ms;
    char    *body;
    size_t   body_len, body_cap;
    int      sink_failed;
    rs_err   sink_err;
};

rs_code objstore_http_create(const char *ca_file, uint32_t connect_timeout_ms, uint32_t stall_timeout_ms,
                             struct objstore_http **out, rs_err *err);
void objstore_http_destroy(struct objstore_http *h);
/* RS_OK when a reply arrived, whatever its status; RS_E_NETWORK,
 * RS_E_TIMEOUT, RS_E_AUTH (TLS) when none did; the sink's own failure. */
rs_code objstore_http_perform(struct objstore_http *h, const struct objstore_http_req *req,
                              struct objstore_http_reply *rep, rs_err *err);
void objstore_http_reply_free(struct objstore_http_reply *rep);

/* ------------------------------------------------------------------ */
/* S3: where and who (objstore_s3_conf.c)                              */
/* ------------------------------------------------------------------ */

struct objstore_s3_conf {
    char  *bucket;
    char  *prefix;            /* "" or ending in '/' */
    char  *region;
    char  *endpoint;          /* scheme://host[:port] */
    char  *host;              /* host[:port] */
    int    https;
    int    virtual_hosted;
    char  *access_key_id;
    char  *secret;            /* guarded memory; never formatted */
    size_t secret_len;
    char  *session_token;     /* guarded memory, or NULL */
};

/* Reads the bucket and prefix from url_rest (after "s3://"), the endpoint,
 * region, addressing and credentials from opt and the environment. */
rs_code objstore_s3_conf_load(const char *url_rest, const rs_objstore_options *opt, struct objstore_s3_conf *c,
                              rs_err *err);
void objstore_s3_conf_release(struct objstore_s3_conf *c);

#endif
