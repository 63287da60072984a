/*
 * The generic layer of object stores: opening a store from its URL,
 * checking keys, and the one-request operations (put, put-if-absent, head,
 * list, remove) run through the retry loop and counted. Uploads are in
 * objstore_upload.c, reads in objstore_read.c, retries in objstore_retry.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/array.h"
#include "common/log.h"
#include "objstore/objstore_int.h"

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

#define DEFAULT_PART_BYTES (16u << 20)
#define PARALLEL_MAX 64u

static void fill_defaults(rs_objstore_options *o)
{
    if (o->part_bytes == 0)
        o->part_bytes = DEFAULT_PART_BYTES;
    if (o->parallel == 0)
        o->parallel = 4;
    if (o->max_attempts == 0)
        o->max_attempts = 6;
    if (o->retry_base_ms == 0)
        o->retry_base_ms = 200;
    if (o->retry_max_ms == 0)
        o->retry_max_ms = 10000;
    if (o->retry_total_ms == 0)
        o->retry_total_ms = 120000;
    if (o->connect_timeout_ms == 0)
        o->connect_timeout_ms = 10000;
    if (o->stall_timeout_ms == 0)
        o->stall_timeout_ms = 30000;
}

static rs_code check_options(const rs_objstore_options *o, rs_err *err)
{
    if (o->part_bytes > RS_OBJSTORE_PART_MAX)
        return rs_err_set(err, RS_E_INVALID, "part size %zu exceeds the limit %zu", o->part_bytes,
                          RS_OBJSTORE_PART_MAX);
    if (o->parallel > PARALLEL_MAX)
        return rs_err_set(err, RS_E_INVALID, "%u parts in flight exceeds the limit %u", o->parallel,
                          PARALLEL_MAX);
    if (o->retry_base_ms > o->retry_max_ms)
        return rs_err_set(err, RS_E_INVALID, "retry base %u ms exceeds the largest backoff %u ms",
                          o->retry_base_ms, o->retry_max_ms);
    return RS_OK;
}

rs_code objstore_make(const struct rs_objstore_ops *ops, void *be, char *describe, const rs_objstore_options *opt,
                      rs_objstore **out, rs_err *err)
{
    rs_objstore *s = calloc(1, sizeof *s);
    if (s == NULL) {
        ops->destroy(be);
        free(describe);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    s->ops = ops;
    s->be = be;
    s->features = ops->features;
    s->describe = describe;
    if (opt != NULL)
        s->opt = *opt;
    fill_defaults(&s->opt);
    /* strings were borrowed for the open only */
    s->opt.s3_endpoint = s->opt.s3_region = s->opt.s3_profile = s->opt.s3_ca_file = NULL;
    s->opt.s3_storage_class = s->opt.s3_sse = s->opt.s3_sse_kms_key_id = NULL;
    uint64_t seed = 0;
    if (getentropy(&seed, sizeof seed) != 0)
        seed = (uint64_t)(uintptr_t)s;
    atomic_init(&s->rng, seed);
    *out = s;
    return RS_OK;
}

int rs_objstore_is_url(const char *s)
{
    return strncmp(s, "s3://", 5) == 0 || strncmp(s, "file://", 7) == 0;
}

/* The directory of a file:// URL or a plain path. */
static rs_code file_dir(const char *url, const char **dir, rs_err *err)
{
    if (strncmp(url, "file://", 7) != 0) {
        if (strstr(url, "://") != NULL)
            return rs_err_set(err, RS_E_INVALID, "'%s': unknown kind of store (s3:// and file:// are known)",
                              url);
        *dir = url;
        return RS_OK;
    }
    const char *rest = url + 7;
    if (strncmp(rest, "localhost/", 10) == 0)
        rest += 9;
    if (rest[0] != '/')
        return rs_err_set(err, RS_E_INVALID, "'%s': a file URL names an absolute path (file:///path)", url);
    *dir = rest;
    return RS_OK;
}

rs_code rs_objstore_open(const char *url, const rs_objstore_options *opt, rs_objstore **out, rs_err *err)
{
    rs_objstore_options o = {0};
    if (opt != NULL)
        o = *opt;
    fill_defaults(&o);
    rs_code rc = check_options(&o, err);
    if (rc != RS_OK)
        return rc;
    void *be = NULL;
    char *describe = NULL;
    const struct rs_objstore_ops *ops;
    if (strncmp(url, "s3://", 5) == 0) {
        ops = &objstore_s3_ops;
        rc = objstore_s3_open(url + 5, &o, &be, &describe, err);
    } else {
        const char *dir = NULL;
        ops = &objstore_file_ops;
        rc = file_dir(url, &dir, err);
        if (rc == RS_OK)
            rc = objstore_file_open(dir, &be, &describe, err);
    }
    if (rc != RS_OK)
        return rc;
    return objstore_make(ops, be, describe, opt, out, err);
}

rs_code rs_objstore_open_object(const char *url, const rs_objstore_options *opt, rs_objstore **out, char **key,
                                rs_err *err)
{
    const char *body = strstr(url, "://");
    body = body != NULL ? body + 3 : url;
    const char *slash = strrchr(body, '/');
    const char *name = slash != NULL ? slash + 1 : body;
    if (name[0] == '\0' || (slash == NULL && body != url))
        return rs_err_set(err, RS_E_INVALID, "'%s' names no object (expected .../name)", url);
    size_t dir_len = slash != NULL ? (size_t)(slash - url) : 0;
    char *dir = dir_len > 0 ? strndup(url, dir_len) : strdup(slash != NULL ? "/" : ".");
    char *k = strdup(name);
    if (dir == NULL || k == NULL) {
        free(dir);
        free(k);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    /* "file://" + "/x" leaves "file://": the root */
    if (strcmp(dir, "file://") == 0) {
        free(dir);
        dir = strdup("/");
    }
    rs_code rc = dir == NULL ? rs_err_set(err, RS_E_NOMEM, "out of memory") : objstore_key_check(k, 0, err);
    if (rc == RS_OK)
        rc = rs_objstore_open(dir, opt, out, err);
    free(dir);
    if (rc != RS_OK) {
        free(k);
        return rc;
    }
    *key = k;
    return RS_OK;
}

void rs_objstore_close(rs_objstore *s)
{
    if (s == NULL)
        return;
    s->ops->destroy(s->be);
    free(s->describe);
    free(s);
}

const char *rs_objstore_describe(const rs_objstore *s)
{
    return s->describe;
}

void rs_objstore_stats_get(const rs_objstore *s, rs_objstore_stats *out)
{
    out->requests = atomic_load(&s->n_requests);
    out->retries = atomic_load(&s->n_retries);
    out->failures = atomic_load(&s->n_failures);
    out->bytes_up = atomic_load(&s->bytes_up);
    out->bytes_down = atomic_load(&s->bytes_down);
}

/* ------------------------------------------------------------------ */
/* Keys, pages, errors                                                 */
/* ------------------------------------------------------------------ */

/* Length of the UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n || (len == 2 && p[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

rs_code objstore_key_check(const char *key, int is_prefix, rs_err *err)
{
    size_t len = strlen(key);
    const char *what = is_prefix ? "prefix" : "key";
    if (len == 0 && !is_prefix)
        return rs_err_set(err, RS_E_INVALID, "empty object key");
    if (len > RS_OBJSTORE_KEY_MAX)
        return rs_err_set(err, RS_E_INVALID, "%s of %zu bytes exceeds the limit %d", what, len,
                          RS_OBJSTORE_KEY_MAX);
    const unsigned char *p = (const unsigned char *)key;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return rs_err_set(err, RS_E_INVALID, "%s '%.*s...' holds a control character", what, (int)i, key);
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            return rs_err_set(err, RS_E_INVALID, "%s '%.*s...' is not valid UTF-8", what, (int)i, key);
        i += n;
    }
    /* segments: no "", ".", ".." (a directory could not hold them), except
     * a prefix's empty last segment after its final '/' */
    for (const char *seg = key;;) {
        const char *end = strchr(seg, '/');
        size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);
        int last = end == NULL;
        if ((n == 0 && !(is_prefix && last)) || (n == 1 && seg[0] == '.') ||
            (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return rs_err_set(err, RS_E_INVALID, "%s '%s' has an empty, '.' or '..' segment", what, key);
        if (last)
            break;
        seg = end + 1;
    }
    return RS_OK;
}

rs_code objstore_page_add(struct objstore_page *page, const char *key, size_t key_len, const char *upload_id,
                          const rs_objstore_info *info, rs_err *err)
{
    struct objstore_entry *items = rs_array_grow(page->items, &page->cap, page->n, sizeof *items, 64);
    if (items == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    page->items = items;
    struct objstore_entry *e = &items[page->n];
    memset(e, 0, sizeof *e);
    e->key = strndup(key, key_len);
    e->upload_id = upload_id != NULL ? strdup(upload_id) : NULL;
    if (e->key == NULL || (upload_id != NULL && e->upload_id == NULL)) {
        free(e->key);
        free(e->upload_id);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    if (info != NULL)
        e->info = *info;
    page->n++;
    return RS_OK;
}

static void page_entries_free(struct objstore_page *page)
{
    for (size_t i = 0; i < page->n; i++) {
        free(page->items[i].key);
        free(page->items[i].upload_id);
    }
    page->n = 0;
}

void objstore_page_clear(struct objstore_page *page)
{
    page_entries_free(page);
    free(page->items);
    free(page->next[0]);
    free(page->next[1]);
    memset(page, 0, sizeof *page);
}

void objstore_count_request(rs_objstore *s)
{
    atomic_fetch_add(&s->n_requests, 1);
}

void objstore_err_append(rs_err *err, const char *fmt, ...)
{
    if (err == NULL || err->code == RS_OK)
        return;
    size_t used = strlen(err->msg);
    if (used + 1 >= sizeof err->msg)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + used, sizeof err->msg - used, fmt, ap);
    va_end(ap);
}

void objstore_thread_name(const char *name)
{
    prctl(PR_SET_NAME, name, 0, 0, 0);
}

/* ------------------------------------------------------------------ */
/* One-request operations                                              */
/* ------------------------------------------------------------------ */

struct put_ctx {
    const char *key;
    const uint8_t *p;
    size_t len;
    int if_absent;
    rs_objstore_info *info;
};

/* After a lost reply, a retried put-if-absent finds its own object: the
 * object holds exactly our bytes. */
static int holds_bytes(rs_objstore *s, const struct put_ctx *c)
{
    uint8_t *got = NULL;
    size_t got_len = 0;
    rs_err e = RS_ERR_INIT;
    int same = rs_objstore_get_all(s, c->key, c->len, &got, &got_len, c->info, &e) == RS_OK &&
               got_len == c->len && (c->len == 0 || memcmp(got, c->p, c->len) == 0);
    free(got);
    return same;
}

static rs_code put_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    struct put_ctx *c = arg;
    rs_code rc = s->ops->put(s->be, c->key, c->p, c->len, c->if_absent, c->info, err);
    if (rc == RS_E_EXISTS && attempt > 1 && holds_bytes(s, c)) {
        RS_LOG_INFO("objstore: put-if-absent key=%s: an earlier attempt's reply was lost; the object is ours",
                    c->key);
        rs_err_clear(err);
        rc = RS_OK;
    }
    if (rc == RS_OK)
        atomic_fetch_add(&s->bytes_up, c->len);
    return rc;
}

rs_code objstore_put_once(rs_objstore *s, const char *key, const uint8_t *p, size_t len, int if_absent,
                          rs_objstore_info *info, rs_err *err)
{
    rs_objstore_info local;
    struct put_ctx c = {.key = key, .p = p, .len = len, .if_absent = if_absent, .info = info ? info : &local};
    return objstore_retry(s, RS_OBJSTORE_OP_PUT, key, put_attempt, &c, err);
}

rs_code rs_objstore_put(rs_objstore *s, const char *key, const uint8_t *p, size_t len, rs_objstore_info *info,
                        rs_err *err)
{
    rs_code rc = objstore_key_check(key, 0, err);
    if (rc != RS_OK)
        return rc;
    if (len > s->opt.part_bytes) {
        rs_objstore_upload *u = NULL;
        rc = rs_objstore_upload_open(s, key, len, &u, err);
        if (rc == RS_OK)
            rc = rs_objstore_upload_write(u, p, len, err);
        if (rc == RS_OK)
            rc = rs_objstore_upload_commit(u, info, err);
        rs_objstore_upload_close(u);
        return rc;
    }
    return objstore_put_once(s, key, p, len, 0, info, err);
}

rs_code rs_objstore_put_if_absent(rs_objstore *s, const char *key, const uint8_t *p, size_t len,
                                  rs_objstore_info *info, rs_err *err)
{
    rs_code rc = objstore_key_check(key, 0, err);
    if (rc != RS_OK)
        return rc;
    if (len > s->opt.part_bytes)
        return rs_err_set(err, RS_E_INVALID, "put-if-absent of %zu bytes exceeds the part size %zu", len,
                          s->opt.part_bytes);
    /* Refuse a taken key before sending; the conditional PUT below closes
     * the race on servers that honour If-None-Match (docs/storage.md). */
    rs_objstore_info seen;
    rc = rs_objstore_head(s, key, &seen, err);
    if (rc == RS_OK)
        return rs_err_set(err, RS_E_EXISTS, "%s: object '%s' already exists: refusing to replace it", s->describe,
                          key);
    if (rc != RS_E_NOTFOUND)
        return rc;
    rs_err_clear(err);
    return objstore_put_once(s, key, p, len, 1, info, err);
}

struct key_ctx {
    const char *key;
    rs_objstore_info *info;
};

static rs_code head_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    struct key_ctx *c = arg;
    return s->ops->head(s->be, c->key, c->info, err);
}

rs_code rs_objstore_head(rs_objstore *s, const char *key, rs_objstore_info *info, rs_err *err)
{
    rs_code rc = objstore_key_check(key, 0, err);
    if (rc != RS_OK)
        return rc;
    memset(info, 0, sizeof *info);
    struct key_ctx c = {.key = key, .info = info};
    return objstore_retry(s, RS_OBJSTORE_OP_HEAD, key, head_attempt, &c, err);
}

static rs_code remove_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    struct key_ctx *c = arg;
    return s->ops->remove(s->be, c->key, err);
}

rs_code rs_objstore_remove(rs_objstore *s, const char *key, rs_err *err)
{
    rs_code rc = objstore_key_check(key, 0, err);
    if (rc != RS_OK)
        return rc;
    struct key_ctx c = {.key = key};
    return objstore_retry(s, RS_OBJSTORE_OP_REMOVE, key, remove_attempt, &c, err);
}

struct batch_ctx {
    const char *const *keys;
    size_t n;
};

static rs_code remove_many_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    struct batch_ctx *c = arg;
    return s->ops->remove_many(s->be, c->keys, c->n, err);
}

rs_code rs_objstore_remove_many(rs_objstore *s, const char *const *keys, size_t n, rs_err *err)
{
    for (size_t i = 0; i < n; i++) {
        rs_code rc = objstore_key_check(keys[i], 0, err);
        if (rc != RS_OK)
            return rc;
    }
    for (size_t at = 0; at < n; at += OBJSTORE_REMOVE_BATCH) {
        struct batch_ctx c = {.keys = keys + at, .n = n - at < OBJSTORE_REMOVE_BATCH ? n - at : OBJSTORE_REMOVE_BATCH};
        rs_code rc = objstore_retry(s, RS_OBJSTORE_OP_REMOVE_MANY, keys[at], remove_many_attempt, &c, err);
        if (rc != RS_OK)
            return rc;
    }
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* Listings, page by page                                              */
/* ------------------------------------------------------------------ */

struct page_ctx {
    const char *prefix;
    struct objstore_page *page;
    int uploads;
};

static rs_code page_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    struct page_ctx *c = arg;
    page_entries_free(c->page); /* what a failed attempt left */
    c->page->truncated = 0;
    return c->uploads ? s->ops->mpu_list(s->be, c->prefix, c->page, err)
                      : s->ops->list(s->be, c->prefix, c->page, err);
}

/* Where a listing's entries go: objects or uploads. */
struct list_target {
    rs_objstore_list_fn objects;
    rs_objstore_upload_fn uploads;
    void *arg;
};

/* Calls the backend page by page; each page arrives whole before its
 * entries go to the caller. */
static rs_code list_pages(rs_objstore *s, const char *prefix, const struct list_target *t, rs_err *err)
{
    rs_code rc = objstore_key_check(prefix, 1, err);
    if (rc != RS_OK)
        return rc;
    int uploads = t->uploads != NULL;
    struct objstore_page page = {0};
    struct page_ctx c = {.prefix = prefix, .page = &page, .uploads = uploads};
    do {
        rc = objstore_retry(s, uploads ? RS_OBJSTORE_OP_MPU_LIST : RS_OBJSTORE_OP_LIST, prefix, page_attempt, &c,
                            err);
        for (size_t i = 0; rc == RS_OK && i < page.n; i++) {
            const struct objstore_entry *e = &page.items[i];
            rc = uploads ? t->uploads(t->arg, e->key, e->upload_id, e->info.mtime_unix_ms, err)
                         : t->objects(t->arg, e->key, &e->info, err);
        }
    } while (rc == RS_OK && page.truncated);
    objstore_page_clear(&page);
    return rc;
}

rs_code rs_objstore_list(rs_objstore *s, const char *prefix, rs_objstore_list_fn fn, void *arg, rs_err *err)
{
    struct list_target t = {.objects = fn, .arg = arg};
    return list_pages(s, prefix, &t, err);
}

rs_code rs_objstore_list_uploads(rs_objstore *s, const char *prefix, rs_objstore_upload_fn fn, void *arg,
                                 rs_err *err)
{
    struct list_target t = {.uploads = fn, .arg = arg};
    return list_pages(s, prefix, &t, err);
}

struct abort_ctx {
    const char *key, *upload_id;
};

static rs_code abort_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    struct abort_ctx *c = arg;
    return s->ops->mpu_abort(s->be, c->key, c->upload_id, err);
}

rs_code rs_objstore_abort_upload(rs_objstore *s, const char *key, const char *upload_id, rs_err *err)
{
    rs_code rc = objstore_key_check(key, 0, err);
    if (rc != RS_OK)
        return rc;
    if (upload_id[0] == '\0' || strlen(upload_id) > 1024)
        return rs_err_set(err, RS_E_INVALID, "upload id of %zu bytes is not valid", strlen(upload_id));
    struct abort_ctx c = {.key = key, .upload_id = upload_id};
    return objstore_retry(s, RS_OBJSTORE_OP_MPU_ABORT, key, abort_attempt, &c, err);
}
