/*
 * Reading objects: one stream into a sink (resumed after a failure where
 * it stopped, on the same version of the object), a whole small object
 * into memory, and the parallel reader: `parallel` threads fetch ranges of
 * a part's size into parallel + 1 buffers, which the caller consumes in
 * order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "objstore/objstore_int.h"

/* ------------------------------------------------------------------ */
/* One stream, resumed                                                 */
/* ------------------------------------------------------------------ */

struct get_ctx {
    const char *key;
    uint64_t off, len;              /* len may be RS_OBJSTORE_TO_END */
    const rs_objstore_sink *to;
    rs_objstore_info *info;
    char     etag[RS_OBJSTORE_ETAG_MAX]; /* the version being read, once known */
    uint64_t delivered;
    int      have_info;
    int      sink_failed;
    rs_err   sink_err;
    rs_objstore *s;
};

/* Passes bytes on and counts them; the caller's failure is kept apart so
 * it is never retried. */
static rs_code counting_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    struct get_ctx *c = arg;
    rs_code rc = c->to->write(c->to->arg, p, len, &c->sink_err);
    if (rc != RS_OK) {
        c->sink_failed = 1;
        return rs_err_set(err, RS_E_INVALID, "reading '%s': the receiver failed", c->key);
    }
    c->delivered += len;
    atomic_fetch_add(&c->s->bytes_down, len);
    return RS_OK;
}

static rs_code get_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    struct get_ctx *c = arg;
    rs_objstore_sink counting = {.write = counting_write, .arg = c};
    uint64_t len = c->len == RS_OBJSTORE_TO_END ? RS_OBJSTORE_TO_END : c->len - c->delivered;
    rs_objstore_info got = {0};
    rs_code rc = s->ops->get(s->be, c->key, c->off + c->delivered, len, c->etag[0] ? c->etag : NULL, &counting,
                             &got, err);
    /* the first reply that got as far as its headers names the version
     * every later attempt asks for */
    if (!c->have_info && got.etag[0] != '\0') {
        *c->info = got;
        c->have_info = 1;
        if (c->etag[0] == '\0')
            memcpy(c->etag, got.etag, sizeof c->etag);
    }
    return rc;
}

/* The stream behind rs_objstore_get and each range of a reader; if_match
 * may name the version to read. */
static rs_code get_range(rs_objstore *s, const char *key, uint64_t off, uint64_t len, const char *if_match,
                         const rs_objstore_sink *to, rs_objstore_info *info, rs_err *err)
{
    struct get_ctx c = {.key = key, .off = off, .len = len, .to = to, .info = info, .s = s,
                        .sink_err = RS_ERR_INIT};
    memset(info, 0, sizeof *info);
    if (if_match != NULL)
        snprintf(c.etag, sizeof c.etag, "%s", if_match);
    rs_err e = RS_ERR_INIT;
    rs_code rc = objstore_retry(s, RS_OBJSTORE_OP_GET, key, get_attempt, &c, &e);
    if (rc == RS_OK)
        return RS_OK;
    if (c.sink_failed) {
        if (err != NULL && err->code == RS_OK)
            *err = c.sink_err;
        return c.sink_err.code;
    }
    if (err != NULL && err->code == RS_OK)
        *err = e;
    return rc;
}

rs_code rs_objstore_get(rs_objstore *s, const char *key, uint64_t off, uint64_t len, const rs_objstore_sink *to,
                        rs_objstore_info *info, rs_err *err)
{
    rs_objstore_info local;
    if (info == NULL)
        info = &local;
    rs_code rc = objstore_key_check(key, 0, err);
    if (rc != RS_OK)
        return rc;
    if (len == 0)
        return rs_objstore_head(s, key, info, err);
    return get_range(s, key, off, len, NULL, to, info, err);
}

struct mem_sink {
    uint8_t *p;
    size_t len, cap, max;
    const char *key;
};

static rs_code mem_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    struct mem_sink *m = arg;
    if (len > m->max - m->len)
        return rs_err_set(err, RS_E_INVALID, "object '%s' exceeds the limit of %zu bytes", m->key, m->max);
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap == 0 ? 4096 : m->cap;
        while (cap < m->len + len + 1)
            cap *= 2;
        uint8_t *q = realloc(m->p, cap);
        if (q == NULL)
            return rs_err_set(err, RS_E_NOMEM, "out of memory");
        m->p = q;
        m->cap = cap;
    }
    memcpy(m->p + m->len, p, len);
    m->len += len;
    return RS_OK;
}

rs_code rs_objstore_get_all(rs_objstore *s, const char *key, size_t max_bytes, uint8_t **out, size_t *out_len,
                            rs_objstore_info *info, rs_err *err)
{
    rs_objstore_info local;
    if (info == NULL)
        info = &local;
    struct mem_sink m = {.max = max_bytes, .key = key};
    rs_objstore_sink sink = {.write = mem_write, .arg = &m};
    /* ask for one byte past the limit: the server never sends more */
    uint64_t len = max_bytes < RS_OBJSTORE_TO_END - 1 ? (uint64_t)max_bytes + 1 : RS_OBJSTORE_TO_END;
    rs_code rc = objstore_key_check(key, 0, err);
    if (rc == RS_OK)
        rc = get_range(s, key, 0, len, NULL, &sink, info, err);
    if (rc == RS_OK)
        rc = mem_write(&m, (const uint8_t *)"", 0, err); /* room for the NUL */
    if (rc != RS_OK) {
        free(m.p);
        return rc;
    }
    m.p[m.len] = '\0';
    *out = m.p;
    *out_len = m.len;
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* The parallel reader                                                 */
/* ------------------------------------------------------------------ */

enum slot_state { SLOT_FREE = 0, SLOT_FETCHING, SLOT_READY };

struct slot {
    uint8_t *buf;
    size_t   len;
    enum slot_state state;
};

struct rs_objstore_reader {
    rs_objstore     *s;
    char            *key;
    rs_objstore_info info;
    size_t           part;
    uint64_t         n_ranges;
    unsigned         n_slots;       /* parallel + 1; range i lives in slot i % n_slots */
    struct slot     *slots;
    size_t           pos;           /* the consumer's place in range next_read */

    pthread_mutex_t  mu;            /* guards what follows */
    pthread_cond_t   cv;
    uint64_t         next_fetch, next_read;
    rs_err           fail;
    atomic_int       stopping;      /* also read by fetches in flight */
    pthread_t       *threads;
    unsigned         n_threads;
};

struct slot_sink {
    rs_objstore_reader *r;
    struct slot *slot;
};

static rs_code slot_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    struct slot_sink *ss = arg;
    if (atomic_load(&ss->r->stopping)) /* a closed reader ends its fetches early */
        return rs_err_set(err, RS_E_INVALID, "reader closed");
    if (len > ss->r->part - ss->slot->len)
        return rs_err_set(err, RS_E_PROTOCOL, "reading '%s': the store sent more than the range asked",
                          ss->r->key);
    memcpy(ss->slot->buf + ss->slot->len, p, len);
    ss->slot->len += len;
    return RS_OK;
}

/* Fetches range i into its slot (allocated on first use). */
static rs_code fetch(rs_objstore_reader *r, uint64_t i, rs_err *err)
{
    struct slot *slot = &r->slots[i % r->n_slots];
    if (slot->buf == NULL && (slot->buf = malloc(r->part)) == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory for a range of %zu bytes", r->part);
    slot->len = 0;
    uint64_t off = i * r->part;
    uint64_t len = r->info.size_bytes - off < r->part ? r->info.size_bytes - off : r->part;
    struct slot_sink ss = {.r = r, .slot = slot};
    rs_objstore_sink sink = {.write = slot_write, .arg = &ss};
    rs_objstore_info got;
    rs_code rc = get_range(r->s, r->key, off, len, r->info.etag[0] ? r->info.etag : NULL, &sink, &got, err);
    if (rc == RS_OK && slot->len != len)
        rc = rs_err_set(err, RS_E_CORRUPT, "reading '%s': range at %llu gave %zu bytes of %llu (object changed?)",
                        r->key, (unsigned long long)off, slot->len, (unsigned long long)len);
    return rc;
}

/* The first range, on the caller's thread: its reply names the object's
 * size and version (no HEAD round trip, and a failure carries S3's error
 * code, which a HEAD's empty body cannot). */
static rs_code fetch_first(rs_objstore_reader *r, rs_err *err)
{
    struct slot *slot = &r->slots[0];
    if ((slot->buf = malloc(r->part)) == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory for a range of %zu bytes", r->part);
    struct slot_sink ss = {.r = r, .slot = slot};
    rs_objstore_sink sink = {.write = slot_write, .arg = &ss};
    rs_code rc = get_range(r->s, r->key, 0, r->part, NULL, &sink, &r->info, err);
    if (rc != RS_OK)
        return rc;
    uint64_t want = r->info.size_bytes < r->part ? r->info.size_bytes : r->part;
    if (slot->len != want)
        return rs_err_set(err, RS_E_CORRUPT, "reading '%s': the first range gave %zu bytes of %llu", r->key,
                          slot->len, (unsigned long long)want);
    r->n_ranges = (r->info.size_bytes + r->part - 1) / r->part;
    r->next_fetch = 1;
    slot->state = SLOT_READY;
    return RS_OK;
}

static void *fetcher(void *arg)
{
    rs_objstore_reader *r = arg;
    objstore_thread_name("rs-download");
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->stopping && r->fail.code == RS_OK && r->next_fetch < r->n_ranges &&
               r->next_fetch >= r->next_read + r->n_slots)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stopping || r->fail.code != RS_OK || r->next_fetch >= r->n_ranges)
            break;
        uint64_t i = r->next_fetch++;
        r->slots[i % r->n_slots].state = SLOT_FETCHING;
        pthread_mutex_unlock(&r->mu);
        rs_err e = RS_ERR_INIT;
        rs_code rc = fetch(r, i, &e);
        pthread_mutex_lock(&r->mu);
        if (rc != RS_OK && r->fail.code == RS_OK)
            r->fail = e;
        r->slots[i % r->n_slots].state = SLOT_READY;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static rs_code start_fetchers(rs_objstore_reader *r, rs_err *err)
{
    unsigned n = r->s->opt.parallel;
    if (r->n_ranges - 1 < n)
        n = (unsigned)(r->n_ranges - 1);
    r->threads = calloc(n > 0 ? n : 1, sizeof *r->threads);
    if (r->threads == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    for (; r->n_threads < n; r->n_threads++)
        if (pthread_create(&r->threads[r->n_threads], NULL, fetcher, r) != 0)
            return rs_err_set(err, RS_E_NOMEM, "cannot start download threads");
    return RS_OK;
}

rs_code rs_objstore_reader_open(rs_objstore *s, const char *key, rs_objstore_reader **out, rs_err *err)
{
    rs_objstore_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->s = s;
    r->part = s->opt.part_bytes;
    r->n_slots = s->opt.parallel + 1;
    r->key = strdup(key);
    r->slots = calloc(r->n_slots, sizeof *r->slots);
    rs_code rc = r->key == NULL || r->slots == NULL ? rs_err_set(err, RS_E_NOMEM, "out of memory")
                                                    : objstore_key_check(key, 0, err);
    if (rc == RS_OK)
        rc = fetch_first(r, err);
    if (rc == RS_OK && r->n_ranges > 1)
        rc = start_fetchers(r, err);
    if (rc != RS_OK) {
        rs_objstore_reader_close(r);
        return rc;
    }
    *out = r;
    return RS_OK;
}

const rs_objstore_info *rs_objstore_reader_info(const rs_objstore_reader *r)
{
    return &r->info;
}

/* Waits for the range being read and points at its unread bytes; *len 0
 * at the end. The slot is the consumer's until consume moves past it. */
static rs_code peek(rs_objstore_reader *r, const uint8_t **p, size_t *len, rs_err *err)
{
    *len = 0;
    pthread_mutex_lock(&r->mu);
    if (r->next_read >= r->n_ranges) {
        pthread_mutex_unlock(&r->mu);
        return RS_OK;
    }
    struct slot *slot = &r->slots[r->next_read % r->n_slots];
    while (slot->state != SLOT_READY && r->fail.code == RS_OK)
        pthread_cond_wait(&r->cv, &r->mu);
    rs_code rc = r->fail.code;
    if (rc != RS_OK && err != NULL && err->code == RS_OK)
        *err = r->fail;
    pthread_mutex_unlock(&r->mu);
    if (rc != RS_OK)
        return rc;
    *p = slot->buf + r->pos;
    *len = slot->len - r->pos;
    return RS_OK;
}

static void consume(rs_objstore_reader *r, size_t n)
{
    struct slot *slot = &r->slots[r->next_read % r->n_slots];
    r->pos += n;
    if (r->pos < slot->len)
        return;
    pthread_mutex_lock(&r->mu);
    slot->state = SLOT_FREE;
    r->next_read++;
    r->pos = 0;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

rs_code rs_objstore_reader_read(rs_objstore_reader *r, uint8_t *buf, size_t cap, size_t *got, rs_err *err)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    *got = 0;
    rs_code rc = peek(r, &p, &n, err);
    if (rc != RS_OK || n == 0)
        return rc;
    if (n > cap)
        n = cap;
    memcpy(buf, p, n);
    consume(r, n);
    *got = n;
    return RS_OK;
}

void rs_objstore_reader_close(rs_objstore_reader *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (unsigned i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    for (unsigned i = 0; r->slots != NULL && i < r->n_slots; i++)
        free(r->slots[i].buf);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->slots);
    free(r->threads);
    free(r->key);
    free(r);
}

rs_code rs_objstore_download(rs_objstore *s, const char *key, const rs_objstore_sink *to, rs_objstore_info *info,
                             rs_err *err)
{
    rs_objstore_reader *r = NULL;
    rs_code rc = rs_objstore_reader_open(s, key, &r, err);
    if (rc != RS_OK)
        return rc;
    if (info != NULL)
        *info = r->info;
    for (;;) {
        const uint8_t *p = NULL;
        size_t n = 0;
        rc = peek(r, &p, &n, err);
        if (rc != RS_OK || n == 0)
            break;
        rc = to->write(to->arg, p, n, err);
        if (rc != RS_OK)
            break;
        consume(r, n);
    }
    rs_objstore_reader_close(r);
    return rc;
}
