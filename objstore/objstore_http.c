/*
 * HTTP requests for the S3 backend over libcurl. One share handle holds
 * the connection cache, DNS cache and TLS sessions for every thread, so
 * parts and ranges in flight reuse connections; easy handles are pooled.
 * Every request has a connect timeout and a stall (low-speed) timeout. A
 * 2xx reply's body streams to the caller's sink; any other reply's body is
 * collected (bounded) for its XML. This file knows HTTP, not S3.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/array.h"
#include "objstore/objstore_int.h"

struct objstore_http {
    CURLSH         *share;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_mu;
    CURL          **idle;
    size_t          n_idle, cap_idle;
    char           *ca_file;
    long            connect_timeout_ms;
    long            stall_s;
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
    (void)h;
    (void)access;
    struct objstore_http *http = arg;
    pthread_mutex_lock(&http->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
    (void)h;
    struct objstore_http *http = arg;
    pthread_mutex_unlock(&http->locks[data]);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

rs_code objstore_http_create(const char *ca_file, uint32_t connect_timeout_ms, uint32_t stall_timeout_ms,
                             struct objstore_http **out, rs_err *err)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return rs_err_set(err, RS_E_INTERNAL, "libcurl: %s", curl_easy_strerror(global_rc));
    struct objstore_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->locks[i], NULL);
    pthread_mutex_init(&h->pool_mu, NULL);
    h->connect_timeout_ms = connect_timeout_ms;
    h->stall_s = (stall_timeout_ms + 999) / 1000;
    h->share = curl_share_init();
    if (h->share == NULL || (ca_file != NULL && (h->ca_file = strdup(ca_file)) == NULL)) {
        objstore_http_destroy(h);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = h;
    return RS_OK;
}

void objstore_http_destroy(struct objstore_http *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n_idle; i++)
        curl_easy_cleanup(h->idle[i]);
    free(h->idle);
    if (h->share != NULL)
        curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->locks[i]);
    pthread_mutex_destroy(&h->pool_mu);
    free(h->ca_file);
    free(h);
}

static CURL *take_handle(struct objstore_http *h)
{
    pthread_mutex_lock(&h->pool_mu);
    CURL *c = h->n_idle > 0 ? h->idle[--h->n_idle] : NULL;
    pthread_mutex_unlock(&h->pool_mu);
    return c != NULL ? c : curl_easy_init();
}

static void give_handle(struct objstore_http *h, CURL *c)
{
    curl_easy_reset(c);
    pthread_mutex_lock(&h->pool_mu);
    CURL **idle = rs_array_grow(h->idle, &h->cap_idle, h->n_idle, sizeof *idle, 8);
    if (idle != NULL) {
        h->idle = idle;
        h->idle[h->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->pool_mu);
    if (c != NULL)
        curl_easy_cleanup(c);
}

/* ------------------------------------------------------------------ */
/* Callbacks                                                           */
/* ------------------------------------------------------------------ */

struct transfer {
    CURL *curl;
    const struct objstore_http_req *req;
    struct objstore_http_reply *rep;
    size_t upload_pos;
    int body_too_big;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t left = t->req->body_len - t->upload_pos;
    size_t take = size * n < left ? size * n : left;
    memcpy(buf, t->req->body + t->upload_pos, take);
    t->upload_pos += take;
    return take;
}

/* curl rewinds the body when it resends on a fresh connection. */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
    struct transfer *t = arg;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > t->req->body_len)
        return CURL_SEEKFUNC_FAIL;
    t->upload_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static int header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    *value = line + n + 1;
    *vlen = len - n - 1;
    while (*vlen > 0 && (**value == ' ' || **value == '\t'))
        (*value)++, (*vlen)--;
    while (*vlen > 0 && ((*value)[*vlen - 1] == '\r' || (*value)[*vlen - 1] == '\n' || (*value)[*vlen - 1] == ' '))
        (*vlen)--;
    return 1;
}

/* Content-Range: "bytes 0-9/100" or "bytes * /100" (without the space). */
static void parse_content_range(struct objstore_http_reply *rep, const char *v, size_t len)
{
    char buf[96];
    if (len >= sizeof buf)
        return;
    memcpy(buf, v, len);
    buf[len] = '\0';
    unsigned long long first, last, total;
    if (sscanf(buf, "bytes %llu-%llu/%llu", &first, &last, &total) == 3) {
        rep->range_first = first;
        rep->range_total = total;
        rep->has_range = 1;
    } else if (sscanf(buf, "bytes */%llu", &total) == 1) {
        rep->range_first = 0;
        rep->range_total = total;
        rep->has_range = 1;
    }
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    struct objstore_http_reply *rep = t->rep;
    size_t len = size * n;
    const char *v;
    size_t vlen;
    char num[32];
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new reply (after 100 Continue) */
        rep->etag[0] = '\0';
        rep->has_length = rep->has_range = 0;
        rep->last_modified_ms = 0;
    } else if (header_is(line, len, "ETag", &v, &vlen)) {
        objstore_etag_copy(rep->etag, v, vlen);
    } else if (header_is(line, len, "Content-Length", &v, &vlen) && vlen < sizeof num) {
        memcpy(num, v, vlen);
        num[vlen] = '\0';
        rep->content_length = strtoull(num, NULL, 10);
        rep->has_length = 1;
    } else if (header_is(line, len, "Content-Range", &v, &vlen)) {
        parse_content_range(rep, v, vlen);
    } else if (header_is(line, len, "Last-Modified", &v, &vlen) && vlen < 64) {
        char date[64];
        memcpy(date, v, vlen);
        date[vlen] = '\0';
        time_t when = curl_getdate(date, NULL);
        rep->last_modified_ms = when > 0 ? (int64_t)when * 1000 : 0;
    }
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    struct objstore_http_reply *rep = t->rep;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status / 100 == 2 && t->req->sink != NULL) {
        if (t->req->sink->write(t->req->sink->arg, (const uint8_t *)p, len, &rep->sink_err) != RS_OK) {
            rep->sink_failed = 1;
            return 0;
        }
        return len;
    }
    if (len > t->req->max_body - rep->body_len) {
        t->body_too_big = 1;
        return 0;
    }
    if (rep->body_len + len + 1 > rep->body_cap) {
        size_t cap = rep->body_cap == 0 ? 4096 : rep->body_cap;
        while (cap < rep->body_len + len + 1)
            cap *= 2;
        char *b = realloc(rep->body, cap);
        if (b == NULL)
            return 0;
        rep->body = b;
        rep->body_cap = cap;
    }
    memcpy(rep->body + rep->body_len, p, len);
    rep->body_len += len;
    rep->body[rep->body_len] = '\0';
    return len;
}

/* ------------------------------------------------------------------ */
/* A request                                                           */
/* ------------------------------------------------------------------ */

/* What a transfer failure means for retries: a refused, reset or stalled
 * connection may work next time; a certificate that fails never will. */
static rs_code curl_failure(CURLcode cc, const char *errbuf, const struct objstore_http *h, rs_err *err)
{
    const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return rs_err_set(err, RS_E_TIMEOUT, "%s (connect timeout %ld ms, stall timeout %ld s)", why,
                          h->connect_timeout_ms, h->stall_s);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        rs_err_set(err, RS_E_AUTH, "TLS: %s", why);
        rs_err_hint(err, "the server's certificate is not trusted: give its CA with --s3-ca-file");
        return RS_E_AUTH;
    case CURLE_URL_MALFORMAT:
        return rs_err_set(err, RS_E_INVALID, "%s", why);
    default:
        return rs_err_set(err, RS_E_NETWORK, "%s", why);
    }
}

static struct curl_slist *header_list(const struct objstore_http_req *req)
{
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *l = curl_slist_append(list, req->headers[i]);
        if (l == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = l;
    }
    /* no "Expect: 100-continue": bodies go at once, without a round trip */
    struct curl_slist *l = curl_slist_append(list, "Expect:");
    if (l == NULL)
        curl_slist_free_all(list);
    return l;
}

static void set_method(CURL *c, const struct objstore_http_req *req, struct transfer *t)
{
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (req->body != NULL) {
        /* PUT and POST alike send the body through the read callback with
         * a Content-Length, and no Content-Type curl would add to POSTs */
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, t);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        if (strcmp(req->method, "PUT") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

rs_code objstore_http_perform(struct objstore_http *h, const struct objstore_http_req *req,
                              struct objstore_http_reply *rep, rs_err *err)
{
    memset(rep, 0, sizeof *rep);
    rep->sink_err = (rs_err)RS_ERR_INIT;
    CURL *c = take_handle(h);
    struct curl_slist *headers = c != NULL ? header_list(req) : NULL;
    if (c == NULL || headers == NULL) {
        if (c != NULL)
            curl_easy_cleanup(c);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    struct transfer t = {.curl = c, .req = req, .rep = rep};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_SHARE, h->share);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->stall_s);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
    if (h->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    set_method(c, req, &t);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rep->status);
    curl_slist_free_all(headers);
    give_handle(h, c);
    if (rep->sink_failed) {
        if (err != NULL && err->code == RS_OK)
            *err = rep->sink_err;
        return rep->sink_err.code != RS_OK ? rep->sink_err.code : RS_E_INTERNAL;
    }
    if (t.body_too_big)
        return rs_err_set(err, RS_E_PROTOCOL, "reply of HTTP %ld exceeds %zu bytes", rep->status, req->max_body);
    if (cc != CURLE_OK)
        return curl_failure(cc, errbuf, h, err);
    return RS_OK;
}

void objstore_http_reply_free(struct objstore_http_reply *rep)
{
    free(rep->body);
    rep->body = NULL;
    rep->body_len = rep->body_cap = 0;
}
