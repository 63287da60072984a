/*
 * Uploads of unknown length. The writer fills one part buffer at a time;
 * a full buffer is handed to a pool of `parallel` sender threads and the
 * writer takes a free one, waiting when all parallel + 1 are busy, so
 * memory stays within part size x (parallel + 1). An object that fits in
 * one part goes as one PUT at commit; the multipart upload starts with the
 * second part. A failed or abandoned multipart upload is aborted.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/log.h"
#include "objstore/objstore_int.h"

struct part_buf {
    uint8_t *p;
    size_t   len, cap;
    unsigned number;
};

struct rs_objstore_upload {
    rs_objstore     *s;
    char            *key;
    size_t           part_bytes;
    unsigned         max_bufs;      /* parallel + 1 */
    struct part_buf *cur;           /* the writer's */
    uint64_t         total;
    unsigned         next_number;
    char            *upload_id;     /* once the multipart upload began */
    int              committed;

    pthread_mutex_t  mu;            /* guards everything below */
    pthread_cond_t   cv;
    struct part_buf **queue;        /* FIFO of parts to send: max_bufs slots */
    unsigned         q_head, q_len;
    struct part_buf **free_bufs;    /* max_bufs slots */
    unsigned         n_free, n_bufs;
    unsigned         busy;          /* queued or being sent */
    struct objstore_part *parts;    /* indexed by number - 1 */
    size_t           parts_cap;
    rs_err           fail;          /* the first failure; code RS_OK while none */
    int              stopping;
    pthread_t       *threads;
    unsigned         n_threads;
};

/* The part size: the store's, raised so that size_hint fits in S3's part
 * limit with a tenth to spare, in whole MiB. */
static size_t part_size_for(const rs_objstore *s, uint64_t size_hint)
{
    size_t part = s->opt.part_bytes;
    if (size_hint == 0 || (s->features & OBJSTORE_F_PARTS_ANY))
        return part;
    uint64_t need = size_hint / (RS_OBJSTORE_PARTS_MAX / 10 * 9) + 1;
    need = (need + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
    if (need > RS_OBJSTORE_PART_MAX)
        need = RS_OBJSTORE_PART_MAX;
    return need > part ? (size_t)need : part;
}

rs_code rs_objstore_upload_open(rs_objstore *s, const char *key, uint64_t size_hint_bytes, rs_objstore_upload **out,
                                rs_err *err)
{
    rs_code rc = objstore_key_check(key, 0, err);
    if (rc != RS_OK)
        return rc;
    rs_objstore_upload *u = calloc(1, sizeof *u);
    if (u == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    u->s = s;
    u->part_bytes = part_size_for(s, size_hint_bytes);
    u->max_bufs = s->opt.parallel + 1;
    u->key = strdup(key);
    u->cur = calloc(1, sizeof *u->cur);
    u->queue = calloc(u->max_bufs, sizeof *u->queue);
    u->free_bufs = calloc(u->max_bufs, sizeof *u->free_bufs);
    if (u->key == NULL || u->cur == NULL || u->queue == NULL || u->free_bufs == NULL) {
        rs_objstore_upload_close(u);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    u->n_bufs = 1;
    *out = u;
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* Senders                                                             */
/* ------------------------------------------------------------------ */

struct part_ctx {
    rs_objstore_upload *u;
    struct part_buf *b;
    char etag[RS_OBJSTORE_ETAG_MAX];
};

static rs_code part_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    struct part_ctx *c = arg;
    uint64_t offset = (uint64_t)(c->b->number - 1) * c->u->part_bytes;
    rs_code rc = s->ops->mpu_part(s->be, c->u->key, c->u->upload_id, c->b->number, offset, c->b->p, c->b->len,
                                  c->etag, err);
    if (rc == RS_OK)
        atomic_fetch_add(&s->bytes_up, c->b->len);
    return rc;
}

/* Records a part's outcome and recycles its buffer. */
static void part_done(rs_objstore_upload *u, struct part_buf *b, rs_code rc, const rs_err *e, const char *etag)
{
    pthread_mutex_lock(&u->mu);
    if (rc == RS_OK) {
        u->parts[b->number - 1].number = b->number;
        memcpy(u->parts[b->number - 1].etag, etag, RS_OBJSTORE_ETAG_MAX);
    } else if (u->fail.code == RS_OK) {
        u->fail = *e;
    }
    b->len = 0;
    u->free_bufs[u->n_free++] = b;
    u->busy--;
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
}

static void *sender(void *arg)
{
    rs_objstore_upload *u = arg;
    objstore_thread_name("rs-upload");
    for (;;) {
        pthread_mutex_lock(&u->mu);
        while (u->q_len == 0 && !u->stopping)
            pthread_cond_wait(&u->cv, &u->mu);
        if (u->q_len == 0) {
            pthread_mutex_unlock(&u->mu);
            return NULL;
        }
        struct part_buf *b = u->queue[u->q_head];
        u->q_head = (u->q_head + 1) % u->max_bufs;
        u->q_len--;
        int skip = u->fail.code != RS_OK; /* the upload failed: no point sending */
        pthread_mutex_unlock(&u->mu);
        struct part_ctx c = {.u = u, .b = b};
        rs_err e = RS_ERR_INIT;
        /* a skipped part fails quietly: the upload's first failure stands */
        rs_code rc = skip ? RS_E_INVALID
                          : objstore_retry(u->s, RS_OBJSTORE_OP_MPU_PART, u->key, part_attempt, &c, &e);
        part_done(u, b, rc, &e, c.etag);
    }
}

/* ------------------------------------------------------------------ */
/* The writer's side                                                   */
/* ------------------------------------------------------------------ */

static rs_code begin_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    rs_objstore_upload *u = arg;
    return s->ops->mpu_begin(s->be, u->key, &u->upload_id, err);
}

/* Starts the multipart upload and its senders (at the second part). */
static rs_code begin_multipart(rs_objstore_upload *u, rs_err *err)
{
    rs_code rc = objstore_retry(u->s, RS_OBJSTORE_OP_MPU_BEGIN, u->key, begin_attempt, u, err);
    if (rc != RS_OK)
        return rc;
    RS_LOG_DEBUG("objstore: multipart upload key=%s part_bytes=%zu parallel=%u", u->key, u->part_bytes,
                 u->s->opt.parallel);
    u->threads = calloc(u->s->opt.parallel, sizeof *u->threads);
    if (u->threads == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    for (; u->n_threads < u->s->opt.parallel; u->n_threads++)
        if (pthread_create(&u->threads[u->n_threads], NULL, sender, u) != 0)
            return rs_err_set(err, RS_E_NOMEM, "cannot start upload threads");
    return RS_OK;
}

/* Hands the writer's buffer to the senders. Called with mu held. */
static rs_code enqueue_locked(rs_objstore_upload *u, rs_err *err)
{
    unsigned number = u->next_number + 1;
    if (number > RS_OBJSTORE_PARTS_MAX && !(u->s->features & OBJSTORE_F_PARTS_ANY))
        return rs_err_set(err, RS_E_INVALID,
                          "object '%s' needs more than %u parts of %zu bytes: give a size hint or a larger part size",
                          u->key, RS_OBJSTORE_PARTS_MAX, u->part_bytes);
    if (number > u->parts_cap) {
        struct objstore_part *p = rs_array_grow(u->parts, &u->parts_cap, number - 1, sizeof *p, 64);
        if (p == NULL)
            return rs_err_set(err, RS_E_NOMEM, "out of memory");
        u->parts = p;
    }
    memset(&u->parts[number - 1], 0, sizeof u->parts[0]);
    u->next_number = number;
    u->cur->number = number;
    u->queue[(u->q_head + u->q_len) % u->max_bufs] = u->cur;
    u->q_len++;
    u->busy++;
    u->cur = NULL;
    pthread_cond_broadcast(&u->cv);
    return RS_OK;
}

/* Takes a free buffer for the writer, making one while under the bound.
 * Called with mu held; waits while every buffer is busy. */
static rs_code take_buffer_locked(rs_objstore_upload *u, rs_err *err)
{
    while (u->n_free == 0 && u->n_bufs >= u->max_bufs && u->fail.code == RS_OK)
        pthread_cond_wait(&u->cv, &u->mu);
    if (u->fail.code != RS_OK)
        return RS_OK; /* the caller reports the failure */
    if (u->n_free > 0) {
        u->cur = u->free_bufs[--u->n_free];
        return RS_OK;
    }
    struct part_buf *b = calloc(1, sizeof *b);
    uint8_t *p = malloc(u->part_bytes);
    if (b == NULL || p == NULL) {
        free(b);
        free(p);
        return rs_err_set(err, RS_E_NOMEM, "out of memory for a part of %zu bytes", u->part_bytes);
    }
    b->p = p;
    b->cap = u->part_bytes;
    u->n_bufs++;
    u->cur = b;
    return RS_OK;
}

/* The upload's failure, copied to err. Called with mu held. */
static rs_code failure_locked(rs_objstore_upload *u, rs_err *err)
{
    if (err != NULL && err->code == RS_OK)
        *err = u->fail;
    return u->fail.code;
}

/* The same for the writer, which holds no buffer after a failure. */
static rs_code failure(rs_objstore_upload *u, rs_err *err)
{
    pthread_mutex_lock(&u->mu);
    rs_code rc = failure_locked(u, err);
    pthread_mutex_unlock(&u->mu);
    return rc != RS_OK ? rc : rs_err_set(err, RS_E_INTERNAL, "upload of '%s' lost its buffer", u->key);
}

/* Sends the full buffer and takes another. */
static rs_code submit(rs_objstore_upload *u, rs_err *err)
{
    if (u->upload_id == NULL) {
        rs_code rc = begin_multipart(u, err);
        if (rc != RS_OK)
            return rc;
    }
    pthread_mutex_lock(&u->mu);
    rs_code rc = u->fail.code != RS_OK ? failure_locked(u, err) : enqueue_locked(u, err);
    if (rc == RS_OK)
        rc = take_buffer_locked(u, err);
    if (rc == RS_OK && u->fail.code != RS_OK)
        rc = failure_locked(u, err);
    pthread_mutex_unlock(&u->mu);
    return rc;
}

/* Grows the first buffer toward the part size, so that a small object
 * costs memory of its size, not a whole part. */
static rs_code grow_first(rs_objstore_upload *u, size_t want, rs_err *err)
{
    struct part_buf *b = u->cur;
    size_t cap = b->cap == 0 ? 64 * 1024 : b->cap;
    while (cap < want)
        cap *= 2;
    if (cap > u->part_bytes)
        cap = u->part_bytes;
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory for %zu bytes", cap);
    b->p = p;
    b->cap = cap;
    return RS_OK;
}

rs_code rs_objstore_upload_write(rs_objstore_upload *u, const uint8_t *p, size_t len, rs_err *err)
{
    while (len > 0) {
        /* a failure found when a part was handed over leaves no buffer */
        if (u->cur == NULL)
            return failure(u, err);
        rs_code rc = RS_OK;
        if (u->cur->len == u->part_bytes)
            rc = submit(u, err);
        else if (u->cur->len == u->cur->cap)
            rc = grow_first(u, u->cur->len + len, err);
        if (rc != RS_OK)
            return rc;
        struct part_buf *b = u->cur;
        size_t n = b->cap - b->len < len ? b->cap - b->len : len;
        memcpy(b->p + b->len, p, n);
        b->len += n;
        u->total += n;
        p += n;
        len -= n;
    }
    return RS_OK;
}

static rs_code sink_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    return rs_objstore_upload_write(arg, p, len, err);
}

rs_objstore_sink rs_objstore_upload_sink(rs_objstore_upload *u)
{
    return (rs_objstore_sink){.write = sink_write, .arg = u};
}

/* ------------------------------------------------------------------ */
/* Commit and abort                                                    */
/* ------------------------------------------------------------------ */

struct complete_ctx {
    rs_objstore_upload *u;
    rs_objstore_info *info;
};

static rs_code complete_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    struct complete_ctx *c = arg;
    rs_objstore_upload *u = c->u;
    rs_code rc = s->ops->mpu_complete(s->be, u->key, u->upload_id, u->parts, u->next_number, c->info, err);
    /* A retry after a lost reply finds the upload gone: it completed if the
     * object is there with our size. */
    if (rc == RS_E_NOTFOUND && attempt > 1) {
        rs_err e = RS_ERR_INIT;
        if (s->ops->head(s->be, u->key, c->info, &e) == RS_OK && c->info->size_bytes == u->total) {
            rs_err_clear(err);
            return RS_OK;
        }
    }
    return rc;
}

static rs_code single_put(rs_objstore_upload *u, rs_objstore_info *info, rs_err *err)
{
    const uint8_t *p = u->cur->p != NULL ? u->cur->p : (const uint8_t *)"";
    return objstore_put_once(u->s, u->key, p, u->cur->len, 0, info, err);
}

static rs_code finish_multipart(rs_objstore_upload *u, rs_objstore_info *info, rs_err *err)
{
    pthread_mutex_lock(&u->mu);
    rs_code rc = u->fail.code != RS_OK ? failure_locked(u, err) : enqueue_locked(u, err);
    while (u->busy > 0)
        pthread_cond_wait(&u->cv, &u->mu);
    if (rc == RS_OK && u->fail.code != RS_OK)
        rc = failure_locked(u, err);
    pthread_mutex_unlock(&u->mu);
    if (rc != RS_OK)
        return rc;
    struct complete_ctx c = {.u = u, .info = info};
    return objstore_retry(u->s, RS_OBJSTORE_OP_MPU_COMPLETE, u->key, complete_attempt, &c, err);
}

rs_code rs_objstore_upload_commit(rs_objstore_upload *u, rs_objstore_info *info, rs_err *err)
{
    rs_objstore_info local;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    if (u->committed)
        return rs_err_set(err, RS_E_INVALID, "upload of '%s' already committed", u->key);
    if (u->cur == NULL)
        return failure(u, err);
    rs_code rc = u->upload_id == NULL ? single_put(u, info, err) : finish_multipart(u, info, err);
    if (rc != RS_OK)
        return rc;
    info->size_bytes = u->total;
    u->committed = 1;
    RS_LOG_DEBUG("objstore: committed key=%s bytes=%llu parts=%u buffers=%u", u->key, (unsigned long long)u->total,
                 u->next_number > 0 ? u->next_number : 1, u->n_bufs);
    return RS_OK;
}

static rs_code abort_attempt(rs_objstore *s, void *arg, unsigned attempt, rs_err *err)
{
    (void)attempt;
    rs_objstore_upload *u = arg;
    return s->ops->mpu_abort(s->be, u->key, u->upload_id, err);
}

static void stop_senders(rs_objstore_upload *u)
{
    pthread_mutex_lock(&u->mu);
    u->stopping = 1;
    if (u->fail.code == RS_OK) /* queued parts of an abandoned upload are skipped */
        rs_err_set(&u->fail, RS_E_INVALID, "upload closed");
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
    for (unsigned i = 0; i < u->n_threads; i++)
        pthread_join(u->threads[i], NULL);
}

void rs_objstore_upload_close(rs_objstore_upload *u)
{
    if (u == NULL)
        return;
    stop_senders(u);
    if (u->upload_id != NULL && !u->committed) {
        rs_err e = RS_ERR_INIT;
        if (objstore_retry(u->s, RS_OBJSTORE_OP_MPU_ABORT, u->key, abort_attempt, u, &e) != RS_OK)
            RS_LOG_WARN("objstore: could not abort the upload of key=%s (rockstream lists and aborts leftovers): %s",
                        u->key, e.msg);
    }
    for (unsigned i = 0; i < u->n_free; i++) {
        free(u->free_bufs[i]->p);
        free(u->free_bufs[i]);
    }
    if (u->cur != NULL)
        free(u->cur->p);
    free(u->cur);
    pthread_mutex_destroy(&u->mu);
    pthread_cond_destroy(&u->cv);
    free(u->threads);
    free(u->queue);
    free(u->free_bufs);
    free(u->parts);
    free(u->upload_id);
    free(u->key);
    free(u);
}
