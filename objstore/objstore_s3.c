/*
 * The S3 backend: each operation as one signed request (objstore_http.c
 * sends it, objstore_sigv4.c signs it, objstore_xml.c reads the reply),
 * and every reply's status and S3 error code classified into an rs_code
 * the generic layer retries or reports. Messages name the operation, key,
 * bucket, endpoint, HTTP status and S3 code; never a credential.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "objstore/objstore_int.h"

#define MAX_REPLY_BODY (8u << 20)  /* XML replies: a page of 1000 keys is ~300 KiB */
#define MAX_HEADERS 16

/* conf comes first: tests read it through the backend pointer */
struct s3_be {
    struct objstore_s3_conf conf;
    struct objstore_http   *http;
    char *storage_class, *sse, *sse_kms_key_id;
};

/* A request in S3's terms. key NULL addresses the bucket. */
struct s3_call {
    const char *what;                       /* "put", "get": for messages */
    const char *method;
    const char *key;                        /* relative to the store's prefix */
    int         key_is_full;                /* key already holds the prefix */
    const struct objstore_param *params;
    size_t      n_params;
    struct objstore_header headers[MAX_HEADERS]; /* extra headers to sign and send */
    size_t      n_headers;
    const uint8_t *body;
    size_t      body_len;
    const rs_objstore_sink *sink;
};

static rs_code s3_head(void *arg, const char *key, rs_objstore_info *info, rs_err *err);

static void add_header(struct s3_call *c, const char *name, const char *value)
{
    if (value != NULL && c->n_headers < MAX_HEADERS)
        c->headers[c->n_headers++] = (struct objstore_header){name, value};
}

/* ------------------------------------------------------------------ */
/* Building, signing and sending a request                             */
/* ------------------------------------------------------------------ */

struct built {
    char *full_key, *path, *query, *url, *host;
    char *lines[MAX_HEADERS + 5];
    size_t n_lines;
};

static void built_free(struct built *b)
{
    free(b->full_key);
    free(b->path);
    free(b->query);
    free(b->url);
    free(b->host);
    for (size_t i = 0; i < b->n_lines; i++)
        free(b->lines[i]);
}

static rs_code build_target(const struct s3_be *be, const struct s3_call *c, struct built *b, rs_err *err)
{
    const struct objstore_s3_conf *cf = &be->conf;
    if (c->key != NULL && asprintf(&b->full_key, "%s%s", c->key_is_full ? "" : cf->prefix, c->key) < 0)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    if (b->full_key != NULL && strlen(b->full_key) > RS_OBJSTORE_KEY_MAX)
        return rs_err_set(err, RS_E_INVALID, "key '%.64s...' with the prefix exceeds %d bytes", b->full_key,
                          RS_OBJSTORE_KEY_MAX);
    char *enc = objstore_uri_encode(b->full_key != NULL ? b->full_key : "", 1);
    b->query = objstore_query_canonical(c->params, c->n_params);
    int n1 = enc == NULL ? -1
             : cf->virtual_hosted ? asprintf(&b->path, "/%s", enc)
             : asprintf(&b->path, "/%s%s%s", cf->bucket, c->key != NULL ? "/" : "", enc);
    int n2 = cf->virtual_hosted ? asprintf(&b->host, "%s.%s", cf->bucket, cf->host) : asprintf(&b->host, "%s", cf->host);
    free(enc);
    if (n1 < 0 || n2 < 0 || b->query == NULL ||
        asprintf(&b->url, "%s://%s%s%s%s", cf->https ? "https" : "http", b->host, b->path, b->query[0] ? "?" : "",
                 b->query) < 0)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    return RS_OK;
}

static rs_code add_line(struct built *b, rs_err *err, const char *name, const char *value)
{
    if (asprintf(&b->lines[b->n_lines], "%s: %s", name, value) < 0)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    b->n_lines++;
    return RS_OK;
}

/* Signs the request and writes its header lines. */
static rs_code sign(const struct s3_be *be, const struct s3_call *c, struct built *b, rs_err *err)
{
    char payload[OBJSTORE_SHA256_HEX], date[17], auth[1024];
    objstore_sha256_hex(c->body != NULL ? c->body : (const uint8_t *)"", c->body_len, payload);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    struct objstore_header h[MAX_HEADERS + 4];
    size_t n = 0;
    h[n++] = (struct objstore_header){"host", b->host};
    h[n++] = (struct objstore_header){"x-amz-content-sha256", payload};
    h[n++] = (struct objstore_header){"x-amz-date", date};
    if (be->conf.session_token != NULL)
        h[n++] = (struct objstore_header){"x-amz-security-token", be->conf.session_token};
    for (size_t i = 0; i < c->n_headers; i++)
        h[n++] = c->headers[i];
    struct objstore_sigv4_req req = {.method = c->method, .path = b->path, .query = b->query, .headers = h,
                                     .n_headers = n, .payload_sha256 = payload};
    struct objstore_sigv4_key key = {.access_key_id = be->conf.access_key_id,
                                     .secret = (const uint8_t *)be->conf.secret,
                                     .secret_len = be->conf.secret_len,
                                     .region = be->conf.region,
                                     .service = "s3"};
    rs_code rc = objstore_sigv4_authorization(&req, &key, date, auth, sizeof auth, err);
    for (size_t i = 0; rc == RS_OK && i < n; i++)
        rc = add_line(b, err, h[i].name, h[i].value);
    if (rc == RS_OK)
        rc = add_line(b, err, "authorization", auth);
    return rc;
}

/* "s3 put 'dir/key' in bucket 'b' at http://host:port" */
static void context(const struct s3_be *be, const struct s3_call *c, const struct built *b, rs_err *err)
{
    if (b->full_key != NULL)
        rs_err_prefix(err, "s3 %s '%.80s' in bucket '%s' at %s", c->what, b->full_key, be->conf.bucket,
                      be->conf.endpoint);
    else
        rs_err_prefix(err, "s3 %s in bucket '%s' at %s", c->what, be->conf.bucket, be->conf.endpoint);
}

/* Sends the call; RS_OK when a reply arrived (any status). */
static rs_code send_call(struct s3_be *be, const struct s3_call *c, struct objstore_http_reply *rep,
                         struct built *b, rs_err *err)
{
    rs_code rc = build_target(be, c, b, err);
    if (rc == RS_OK)
        rc = sign(be, c, b, err);
    if (rc != RS_OK)
        return rc;
    struct objstore_http_req req = {.method = c->method,
                                    .url = b->url,
                                    .headers = (const char *const *)b->lines,
                                    .n_headers = b->n_lines,
                                    .body = c->body,
                                    .body_len = c->body_len,
                                    .sink = c->sink,
                                    .max_body = MAX_REPLY_BODY};
    RS_LOG_TRACE("objstore: s3 %s %s %s", c->method, b->path, b->query);
    rc = objstore_http_perform(be->http, &req, rep, err);
    if (rc != RS_OK && !rep->sink_failed)
        context(be, c, b, err);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Classifying replies                                                 */
/* ------------------------------------------------------------------ */

/* The rs_code for a failed reply; S3's code decides where the status
 * alone does not. */
static rs_code code_for(long status, const char *s3code)
{
    if (strcmp(s3code, "RequestTimeout") == 0)
        return RS_E_TIMEOUT;
    if (strcmp(s3code, "SlowDown") == 0 || strcmp(s3code, "OperationAborted") == 0 || status == 429 ||
        status == 503)
        return RS_E_BUSY;
    if (strcmp(s3code, "InternalError") == 0 || status == 500 || status == 502 || status == 504)
        return RS_E_NETWORK;
    switch (status) {
    case 403: return RS_E_AUTH;
    case 404: return RS_E_NOTFOUND;
    case 412: return RS_E_EXISTS;
    case 501: return RS_E_UNSUPPORTED;
    default: return status >= 300 && status < 500 ? RS_E_INVALID : RS_E_PROTOCOL;
    }
}

static const char *hint_for(long status, const char *s3code)
{
    if (strcmp(s3code, "RequestTimeTooSkewed") == 0)
        return "this machine's clock is off: S3 refuses signatures more than 15 minutes from its time";
    if (status == 403)
        return "check the credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the profile in "
               "~/.aws/credentials (docs/storage.md)";
    if (strcmp(s3code, "NoSuchBucket") == 0)
        return "create the bucket first, or check its name and the endpoint (--s3-endpoint)";
    if (status == 301 || status == 307 || strcmp(s3code, "AuthorizationHeaderMalformed") == 0)
        return "the bucket is in another region or behind another endpoint: set --s3-region or --s3-endpoint";
    return NULL;
}

static const char *default_s3code(long status)
{
    switch (status) {
    case 403: return "AccessDenied";
    case 404: return "NotFound";
    case 412: return "PreconditionFailed";
    default: return "";
    }
}

/* The error of a non-2xx reply (or a 200 carrying one, code given). */
static rs_code reply_error(const struct s3_be *be, const struct s3_call *c, const struct built *b, long status,
                           const struct objstore_s3_error *e, rs_err *err)
{
    const char *code = e->code[0] ? e->code : default_s3code(status);
    const char *what = status == 403 ? "access denied"
                       : strcmp(code, "NoSuchBucket") == 0 ? "the bucket does not exist"
                       : strcmp(code, "NoSuchKey") == 0 || (status == 404 && c->key != NULL && !e->code[0]) ? "no such object"
                       : e->message;
    rs_code rc = code_for(status, code);
    rs_err_set(err, rc, "HTTP %ld%s%s%s%s", status, code[0] ? " " : "", code, what[0] ? ": " : "", what);
    rs_err_hint(err, hint_for(status, code));
    context(be, c, b, err);
    return rc;
}

/* Sends a call and classifies its reply: RS_OK for 2xx. rep is the
 * caller's to free. */
static rs_code call(struct s3_be *be, const struct s3_call *c, struct objstore_http_reply *rep, rs_err *err)
{
    struct built b = {0};
    rs_code rc = send_call(be, c, rep, &b, err);
    if (rc == RS_OK && rep->status / 100 != 2) {
        struct objstore_s3_error e = {0};
        rs_err ignored = RS_ERR_INIT;
        if (rep->body_len > 0)
            objstore_xml_error(rep->body, rep->body_len, &e, &ignored);
        rc = reply_error(be, c, &b, rep->status, &e, err);
    }
    built_free(&b);
    return rc;
}

/* Classifies an error carried in a 200's body (CompleteMultipartUpload). */
static rs_code body_error(struct s3_be *be, const struct s3_call *c, const struct objstore_s3_error *e, rs_err *err)
{
    struct built b = {0};
    rs_code rc = build_target(be, c, &b, err);
    long status = strcmp(e->code, "InternalError") == 0 || strcmp(e->code, "SlowDown") == 0 ? 500 : 400;
    if (rc == RS_OK)
        rc = reply_error(be, c, &b, status, e, err);
    built_free(&b);
    return rc;
}

static void info_from(const struct objstore_http_reply *rep, uint64_t size, rs_objstore_info *info)
{
    info->size_bytes = size;
    info->mtime_unix_ms = rep->last_modified_ms;
    memcpy(info->etag, rep->etag, sizeof info->etag);
}

/* ------------------------------------------------------------------ */
/* Objects                                                             */
/* ------------------------------------------------------------------ */

static void add_write_headers(const struct s3_be *be, struct s3_call *c)
{
    add_header(c, "x-amz-storage-class", be->storage_class);
    add_header(c, "x-amz-server-side-encryption", be->sse);
    add_header(c, "x-amz-server-side-encryption-aws-kms-key-id", be->sse_kms_key_id);
}

static rs_code s3_put(void *arg, const char *key, const uint8_t *p, size_t len, int if_absent,
                      rs_objstore_info *info, rs_err *err)
{
    struct s3_be *be = arg;
    struct s3_call c = {.what = if_absent ? "put-if-absent" : "put", .method = "PUT", .key = key, .body = p,
                        .body_len = len};
    add_write_headers(be, &c);
    if (if_absent)
        add_header(&c, "if-none-match", "*");
    struct objstore_http_reply rep;
    rs_code rc = call(be, &c, &rep, err);
    if (rc == RS_OK)
        info_from(&rep, len, info);
    if (rc == RS_E_EXISTS)
        objstore_err_append(err, ": the object exists, refusing to replace it");
    objstore_http_reply_free(&rep);
    return rc;
}

static rs_code s3_get(void *arg, const char *key, uint64_t off, uint64_t len, const char *if_match,
                      const rs_objstore_sink *to, rs_objstore_info *info, rs_err *err)
{
    struct s3_be *be = arg;
    struct s3_call c = {.what = "get", .method = "GET", .key = key, .sink = to};
    char range[64], match[RS_OBJSTORE_ETAG_MAX + 2];
    int ranged = !(off == 0 && len == RS_OBJSTORE_TO_END);
    if (len == RS_OBJSTORE_TO_END || len > UINT64_MAX - off)
        snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)off);
    else
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off, (unsigned long long)(off + len - 1));
    if (ranged)
        add_header(&c, "range", range);
    if (if_match != NULL) {
        snprintf(match, sizeof match, "\"%s\"", if_match);
        add_header(&c, "if-match", match);
    }
    struct objstore_http_reply rep;
    rs_code rc = call(be, &c, &rep, err);
    /* what the headers said counts even if the body broke off */
    if (rep.status / 100 == 2)
        info_from(&rep, rep.has_range ? rep.range_total : rep.content_length, info);
    if (rc == RS_OK && ranged && rep.status == 206 && (!rep.has_range || rep.range_first != off))
        rc = rs_err_set(err, RS_E_PROTOCOL, "s3 get '%.80s': reply range does not start at %llu", key,
                        (unsigned long long)off);
    else if (rc == RS_OK && ranged && rep.status == 200 && off > 0)
        rc = rs_err_set(err, RS_E_PROTOCOL, "s3 get '%.80s': the server ignored the Range header", key);
    else if (rc == RS_E_INVALID && rep.status == 416 && off == 0) {
        /* a range of an empty object: nothing to read */
        rs_err_clear(err);
        info->size_bytes = 0;
        rc = RS_OK;
    } else if (rc == RS_E_EXISTS && if_match != NULL) {
        rs_err_clear(err);
        rc = rs_err_set(err, RS_E_CORRUPT, "s3 get '%.80s' in bucket '%s': the object changed while it was read",
                        key, be->conf.bucket);
    }
    objstore_http_reply_free(&rep);
    return rc;
}

/* After a HEAD's 404 (which has no body to say why), tells a missing
 * bucket from a missing object. */
static rs_code missing_what(struct s3_be *be, rs_err *err)
{
    struct s3_call c = {.what = "head", .method = "HEAD"};
    struct objstore_http_reply rep;
    rs_err e = RS_ERR_INIT;
    rs_code rc = call(be, &c, &rep, &e);
    objstore_http_reply_free(&rep);
    if (rc == RS_E_NOTFOUND) {
        rs_err_clear(err);
        rs_err_set(err, RS_E_NOTFOUND, "s3: bucket '%s' at %s does not exist", be->conf.bucket, be->conf.endpoint);
        rs_err_hint(err, hint_for(404, "NoSuchBucket"));
    }
    return RS_E_NOTFOUND;
}

static rs_code s3_head(void *arg, const char *key, rs_objstore_info *info, rs_err *err)
{
    struct s3_be *be = arg;
    struct s3_call c = {.what = "head", .method = "HEAD", .key = key};
    struct objstore_http_reply rep;
    rs_code rc = call(be, &c, &rep, err);
    if (rc == RS_OK)
        info_from(&rep, rep.content_length, info);
    objstore_http_reply_free(&rep);
    return rc == RS_E_NOTFOUND ? missing_what(be, err) : rc;
}

static rs_code s3_remove(void *arg, const char *key, rs_err *err)
{
    struct s3_be *be = arg;
    struct s3_call c = {.what = "remove", .method = "DELETE", .key = key};
    struct objstore_http_reply rep;
    rs_err e = RS_ERR_INIT;
    rs_code rc = call(be, &c, &rep, &e);
    objstore_http_reply_free(&rep);
    /* a missing object is removed already; a missing bucket is an error */
    if (rc == RS_E_NOTFOUND && strstr(e.msg, "NoSuchBucket") == NULL)
        return RS_OK;
    if (rc != RS_OK && err != NULL && err->code == RS_OK)
        *err = e;
    return rc;
}

static rs_code content_md5(const char *body, size_t len, char out[32], rs_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(body, len, md, &n, EVP_md5(), NULL) != 1)
        return rs_err_set(err, RS_E_INTERNAL, "MD5 is not available");
    EVP_EncodeBlock((unsigned char *)out, md, (int)n);
    return RS_OK;
}

/* The DeleteObjects body: quiet, so the reply lists only failures. */
static char *delete_body(const struct s3_be *be, const char *const *keys, size_t n)
{
    size_t cap = 64, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += 6 * (strlen(be->conf.prefix) + strlen(keys[i])) + 32;
    char *body = malloc(cap);
    if (body == NULL)
        return NULL;
    len += (size_t)sprintf(body, "<Delete><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        char *full = NULL, *esc = NULL;
        if (asprintf(&full, "%s%s", be->conf.prefix, keys[i]) < 0 || (esc = objstore_xml_escape(full)) == NULL) {
            free(full);
            free(body);
            return NULL;
        }
        len += (size_t)sprintf(body + len, "<Object><Key>%s</Key></Object>", esc);
        free(full);
        free(esc);
    }
    sprintf(body + len, "</Delete>");
    return body;
}

static rs_code s3_remove_many(void *arg, const char *const *keys, size_t n, rs_err *err)
{
    struct s3_be *be = arg;
    char *body = delete_body(be, keys, n);
    if (body == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    char md5[32];
    static const struct objstore_param params[] = {{"delete", NULL}};
    struct s3_call c = {.what = "remove many", .method = "POST", .params = params, .n_params = 1,
                        .body = (const uint8_t *)body, .body_len = strlen(body)};
    rs_code rc = content_md5(body, c.body_len, md5, err);
    add_header(&c, "content-md5", md5);
    struct objstore_http_reply rep = {0};
    if (rc == RS_OK)
        rc = call(be, &c, &rep, err);
    char failed[RS_OBJSTORE_KEY_MAX + 1];
    struct objstore_s3_error e;
    if (rc == RS_OK)
        rc = objstore_xml_delete(rep.body != NULL ? rep.body : "", rep.body_len, failed, &e, err);
    if (rc == RS_OK && e.code[0] != '\0') {
        rc = code_for(strcmp(e.code, "AccessDenied") == 0 ? 403 : 500, e.code);
        rs_err_set(err, rc, "s3 remove '%.80s' in bucket '%s' at %s: %s: %s", failed, be->conf.bucket,
                   be->conf.endpoint, e.code, e.message);
        rs_err_hint(err, hint_for(rc == RS_E_AUTH ? 403 : 500, e.code));
    }
    objstore_http_reply_free(&rep);
    free(body);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Multipart uploads                                                   */
/* ------------------------------------------------------------------ */

static rs_code s3_mpu_begin(void *arg, const char *key, char **upload_id, rs_err *err)
{
    struct s3_be *be = arg;
    static const struct objstore_param params[] = {{"uploads", NULL}};
    struct s3_call c = {.what = "multipart begin", .method = "POST", .key = key, .params = params, .n_params = 1,
                        .body = (const uint8_t *)"", .body_len = 0};
    add_write_headers(be, &c);
    struct objstore_http_reply rep;
    rs_code rc = call(be, &c, &rep, err);
    if (rc == RS_OK)
        rc = objstore_xml_initiate(rep.body != NULL ? rep.body : "", rep.body_len, upload_id, err);
    objstore_http_reply_free(&rep);
    return rc;
}

static rs_code s3_mpu_part(void *arg, const char *key, const char *upload_id, unsigned number, uint64_t offset,
                           const uint8_t *p, size_t len, char etag[RS_OBJSTORE_ETAG_MAX], rs_err *err)
{
    (void)offset;
    struct s3_be *be = arg;
    char num[16];
    snprintf(num, sizeof num, "%u", number);
    const struct objstore_param params[] = {{"partNumber", num}, {"uploadId", upload_id}};
    struct s3_call c = {.what = "multipart part", .method = "PUT", .key = key, .params = params, .n_params = 2,
                        .body = p, .body_len = len};
    struct objstore_http_reply rep;
    rs_code rc = call(be, &c, &rep, err);
    if (rc == RS_OK && rep.etag[0] == '\0')
        rc = rs_err_set(err, RS_E_PROTOCOL, "s3 part %u of '%.80s': the reply has no ETag", number, key);
    if (rc == RS_OK)
        memcpy(etag, rep.etag, RS_OBJSTORE_ETAG_MAX);
    objstore_http_reply_free(&rep);
    return rc;
}

static char *complete_body(const struct objstore_part *parts, unsigned n)
{
    size_t cap = 64 + (size_t)n * (64 + RS_OBJSTORE_ETAG_MAX);
    char *body = malloc(cap);
    if (body == NULL)
        return NULL;
    size_t len = (size_t)sprintf(body, "<CompleteMultipartUpload>");
    for (unsigned i = 0; i < n; i++)
        len += (size_t)sprintf(body + len, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
                               parts[i].number, parts[i].etag);
    sprintf(body + len, "</CompleteMultipartUpload>");
    return body;
}

static rs_code s3_mpu_complete(void *arg, const char *key, const char *upload_id, const struct objstore_part *parts,
                               unsigned n_parts, rs_objstore_info *info, rs_err *err)
{
    struct s3_be *be = arg;
    char *body = complete_body(parts, n_parts);
    if (body == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    const struct objstore_param params[] = {{"uploadId", upload_id}};
    struct s3_call c = {.what = "multipart complete", .method = "POST", .key = key, .params = params,
                        .n_params = 1, .body = (const uint8_t *)body, .body_len = strlen(body)};
    struct objstore_http_reply rep;
    rs_code rc = call(be, &c, &rep, err);
    struct objstore_s3_error e;
    if (rc == RS_OK)
        rc = objstore_xml_complete(rep.body != NULL ? rep.body : "", rep.body_len, info->etag, &e, err);
    /* S3 may answer 200 and report the failure in the body */
    if (rc == RS_OK && e.code[0] != '\0')
        rc = body_error(be, &c, &e, err);
    /* radosgw 16 leaves the reply's <ETag> empty: ask for it */
    if (rc == RS_OK && info->etag[0] == '\0') {
        rs_objstore_info head;
        rs_err ignored = RS_ERR_INIT;
        if (s3_head(be, key, &head, &ignored) == RS_OK)
            memcpy(info->etag, head.etag, sizeof info->etag);
    }
    objstore_http_reply_free(&rep);
    free(body);
    return rc;
}

static rs_code s3_mpu_abort(void *arg, const char *key, const char *upload_id, rs_err *err)
{
    struct s3_be *be = arg;
    const struct objstore_param params[] = {{"uploadId", upload_id}};
    struct s3_call c = {.what = "multipart abort", .method = "DELETE", .key = key, .params = params, .n_params = 1};
    struct objstore_http_reply rep;
    rs_err e = RS_ERR_INIT;
    rs_code rc = call(be, &c, &rep, &e);
    objstore_http_reply_free(&rep);
    if (rc == RS_E_NOTFOUND && strstr(e.msg, "NoSuchUpload") != NULL)
        return RS_OK; /* gone already */
    if (rc != RS_OK && err != NULL && err->code == RS_OK)
        *err = e;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Listings                                                            */
/* ------------------------------------------------------------------ */

/* One page of a bucket listing: objects, or uploads. */
static rs_code list_page(struct s3_be *be, const char *prefix, int uploads, struct objstore_page *page, rs_err *err)
{
    char *full = NULL;
    if (asprintf(&full, "%s%s", be->conf.prefix, prefix) < 0)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    struct objstore_param params[5];
    size_t n = 0;
    params[n++] = (struct objstore_param){"prefix", full};
    if (uploads) {
        /* no encoding-type=url here: radosgw 16 would encode the keys
         * without saying so (no <EncodingType>); plain keys are safe, ours
         * hold no control characters */
        params[n++] = (struct objstore_param){"uploads", NULL};
        if (page->next[0] != NULL)
            params[n++] = (struct objstore_param){"key-marker", page->next[0]};
        if (page->next[1] != NULL)
            params[n++] = (struct objstore_param){"upload-id-marker", page->next[1]};
    } else {
        params[n++] = (struct objstore_param){"list-type", "2"};
        params[n++] = (struct objstore_param){"encoding-type", "url"};
        if (page->next[0] != NULL)
            params[n++] = (struct objstore_param){"continuation-token", page->next[0]};
    }
    struct s3_call c = {.what = uploads ? "list uploads" : "list", .method = "GET", .params = params, .n_params = n};
    struct objstore_http_reply rep;
    rs_code rc = call(be, &c, &rep, err);
    free(full);
    /* the next page's markers replace this one's */
    char *next[2] = {page->next[0], page->next[1]};
    page->next[0] = page->next[1] = NULL;
    if (rc == RS_OK) {
        const char *body = rep.body != NULL ? rep.body : "";
        rc = uploads ? objstore_xml_uploads(body, rep.body_len, be->conf.prefix, page, err)
                     : objstore_xml_list(body, rep.body_len, be->conf.prefix, page, err);
    }
    if (rc != RS_OK) { /* a retry asks for the same page again */
        free(page->next[0]);
        free(page->next[1]);
        page->next[0] = next[0];
        page->next[1] = next[1];
    } else {
        free(next[0]);
        free(next[1]);
    }
    objstore_http_reply_free(&rep);
    return rc;
}

static rs_code s3_list(void *arg, const char *prefix, struct objstore_page *page, rs_err *err)
{
    return list_page(arg, prefix, 0, page, err);
}

static rs_code s3_mpu_list(void *arg, const char *prefix, struct objstore_page *page, rs_err *err)
{
    return list_page(arg, prefix, 1, page, err);
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

static void s3_destroy(void *arg)
{
    struct s3_be *be = arg;
    if (be == NULL)
        return;
    objstore_http_destroy(be->http);
    objstore_s3_conf_release(&be->conf);
    free(be->storage_class);
    free(be->sse);
    free(be->sse_kms_key_id);
    free(be);
}

/* Copies an optional header value, refusing what HTTP cannot carry. */
static rs_code header_value(const char *name, const char *v, char **out, rs_err *err)
{
    if (v == NULL || v[0] == '\0')
        return RS_OK;
    for (const char *p = v; *p != '\0'; p++)
        if (*p < 0x21 || *p > 0x7e)
            return rs_err_set(err, RS_E_INVALID, "%s '%.64s' holds a character HTTP headers cannot carry", name, v);
    if ((*out = strdup(v)) == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    return RS_OK;
}

rs_code objstore_s3_open(const char *url_rest, const rs_objstore_options *opt, void **out, char **describe,
                         rs_err *err)
{
    if (opt->part_bytes < RS_OBJSTORE_PART_MIN)
        return rs_err_set(err, RS_E_INVALID, "part size %zu is below S3's minimum of %u bytes", opt->part_bytes,
                          RS_OBJSTORE_PART_MIN);
    if (opt->s3_sse_kms_key_id != NULL && (opt->s3_sse == NULL || strcmp(opt->s3_sse, "aws:kms") != 0))
        return rs_err_set(err, RS_E_INVALID, "a KMS key id needs server-side encryption aws:kms");
    if (opt->s3_sse != NULL && strcmp(opt->s3_sse, "AES256") != 0 && strcmp(opt->s3_sse, "aws:kms") != 0)
        return rs_err_set(err, RS_E_INVALID, "server-side encryption '%.32s': AES256 or aws:kms", opt->s3_sse);
    struct s3_be *be = calloc(1, sizeof *be);
    if (be == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    rs_code rc = objstore_s3_conf_load(url_rest, opt, &be->conf, err);
    if (rc == RS_OK)
        rc = header_value("storage class", opt->s3_storage_class, &be->storage_class, err);
    if (rc == RS_OK)
        rc = header_value("server-side encryption", opt->s3_sse, &be->sse, err);
    if (rc == RS_OK)
        rc = header_value("KMS key id", opt->s3_sse_kms_key_id, &be->sse_kms_key_id, err);
    if (rc == RS_OK)
        rc = objstore_http_create(opt->s3_ca_file, opt->connect_timeout_ms, opt->stall_timeout_ms, &be->http, err);
    if (rc == RS_OK && asprintf(describe, "s3://%s/%s at %s", be->conf.bucket, be->conf.prefix,
                                be->conf.endpoint) < 0)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
    if (rc != RS_OK) {
        s3_destroy(be);
        return rc;
    }
    *out = be;
    return RS_OK;
}

const struct rs_objstore_ops objstore_s3_ops = {
    .name = "s3",
    .put = s3_put,
    .mpu_begin = s3_mpu_begin,
    .mpu_part = s3_mpu_part,
    .mpu_complete = s3_mpu_complete,
    .mpu_abort = s3_mpu_abort,
    .mpu_list = s3_mpu_list,
    .get = s3_get,
    .head = s3_head,
    .list = s3_list,
    .remove = s3_remove,
    .remove_many = s3_remove_many,
    .destroy = s3_destroy,
};
