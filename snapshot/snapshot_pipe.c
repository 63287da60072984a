/*
 * Write stage: pipe. Hands bytes to a worker thread that runs the rest of
 * the chain (encrypt -> out), so reading and hashing the files and
 * encrypting and hashing the archive use two cores: on files that pass
 * through uncompressed, sealing is bound by BLAKE2b and ChaCha20, not by
 * one core doing both. A fixed pool of buffers bounds the memory; the
 * next stages see the bytes in order, from the worker, then finish on the
 * caller's thread once the worker has drained.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot_int.h"

#define PIPE_SLOTS 4
#define PIPE_SLOT_BYTES (1024u * 1024)

struct slot {
    uint8_t *p;
    size_t   len;
    enum chunk_kind kind;
};

struct pipe_stage {
    struct wstage   base;
    pthread_t       thread;
    int             started;
    pthread_mutex_t mu;
    pthread_cond_t  changed;
    struct slot     slots[PIPE_SLOTS];
    size_t          head, queued; /* the queue: slots[head .. head + queued) */
    size_t          filling;      /* the slot the caller fills, not queued */
    int             closing;
    int             failed;
    rs_err          err;          /* the worker's failure */
};

static void *pipe_worker(void *arg)
{
    struct pipe_stage *ps = arg;
    pthread_mutex_lock(&ps->mu);
    for (;;) {
        while (ps->queued == 0 && !ps->closing)
            pthread_cond_wait(&ps->changed, &ps->mu);
        if (ps->queued == 0)
            break;
        struct slot *s = &ps->slots[ps->head];
        pthread_mutex_unlock(&ps->mu);
        rs_err e = RS_ERR_INIT;
        rs_code rc = ps->failed ? RS_OK : ps->base.next->ops->write(ps->base.next, s->p, s->len, s->kind, &e);
        pthread_mutex_lock(&ps->mu);
        if (rc != RS_OK && !ps->failed) {
            ps->failed = 1;
            ps->err = e;
        }
        ps->head = (ps->head + 1) % PIPE_SLOTS;
        ps->queued--;
        pthread_cond_broadcast(&ps->changed);
    }
    pthread_mutex_unlock(&ps->mu);
    return NULL;
}

static rs_code worker_failure(struct pipe_stage *ps, rs_err *err)
{
    if (err != NULL && err->code == RS_OK)
        *err = ps->err;
    return ps->err.code;
}

/* Queues the slot being filled and waits for a free one. */
static rs_code hand_over(struct pipe_stage *ps, rs_err *err)
{
    pthread_mutex_lock(&ps->mu);
    ps->queued++;
    pthread_cond_broadcast(&ps->changed);
    while (ps->queued == PIPE_SLOTS - 1 && !ps->failed)
        pthread_cond_wait(&ps->changed, &ps->mu);
    ps->filling = (ps->head + ps->queued) % PIPE_SLOTS;
    ps->slots[ps->filling].len = 0;
    int failed = ps->failed;
    pthread_mutex_unlock(&ps->mu);
    return failed ? worker_failure(ps, err) : RS_OK;
}

static rs_code pipe_write(struct wstage *st, const uint8_t *p, size_t len, enum chunk_kind kind, rs_err *err)
{
    struct pipe_stage *ps = (struct pipe_stage *)st;
    while (len > 0) {
        struct slot *s = &ps->slots[ps->filling];
        if (s->len == PIPE_SLOT_BYTES || (s->len > 0 && s->kind != kind))
            if (hand_over(ps, err) != RS_OK)
                return err != NULL ? err->code : RS_E_IO;
        s = &ps->slots[ps->filling];
        s->kind = kind;
        size_t n = PIPE_SLOT_BYTES - s->len < len ? PIPE_SLOT_BYTES - s->len : len;
        memcpy(s->p + s->len, p, n);
        s->len += n;
        p += n;
        len -= n;
    }
    return RS_OK;
}

static void stop_worker(struct pipe_stage *ps)
{
    if (!ps->started)
        return;
    pthread_mutex_lock(&ps->mu);
    ps->closing = 1;
    pthread_cond_broadcast(&ps->changed);
    pthread_mutex_unlock(&ps->mu);
    pthread_join(ps->thread, NULL);
    ps->started = 0;
}

static rs_code pipe_finish(struct wstage *st, rs_err *err)
{
    struct pipe_stage *ps = (struct pipe_stage *)st;
    if (ps->slots[ps->filling].len > 0 && hand_over(ps, err) != RS_OK)
        return err != NULL ? err->code : RS_E_IO;
    stop_worker(ps);
    if (ps->failed)
        return worker_failure(ps, err);
    return st->next->ops->finish(st->next, err);
}

static void pipe_destroy(struct wstage *st)
{
    struct pipe_stage *ps = (struct pipe_stage *)st;
    stop_worker(ps);
    for (int i = 0; i < PIPE_SLOTS; i++)
        free(ps->slots[i].p);
    pthread_cond_destroy(&ps->changed);
    pthread_mutex_destroy(&ps->mu);
    free(ps);
}

static const struct wstage_ops pipe_ops = {
    .name = "pipe",
    .write = pipe_write,
    .finish = pipe_finish,
    .destroy = pipe_destroy,
};

rs_code snapshot_pipe_stage_create(struct wstage *next, struct wstage **out, rs_err *err)
{
    struct pipe_stage *ps = calloc(1, sizeof *ps);
    if (ps == NULL)
        return rs_err_set(err, RS_E_NOMEM, "pipe: out of memory");
    ps->base.ops = &pipe_ops;
    ps->base.next = next;
    pthread_mutex_init(&ps->mu, NULL);
    pthread_cond_init(&ps->changed, NULL);
    int ok = 1;
    for (int i = 0; i < PIPE_SLOTS; i++)
        ok &= (ps->slots[i].p = malloc(PIPE_SLOT_BYTES)) != NULL;
    if (ok && pthread_create(&ps->thread, NULL, pipe_worker, ps) == 0) {
        ps->started = 1;
        pthread_setname_np(ps->thread, "rs-seal");
        *out = &ps->base;
        return RS_OK;
    }
    pipe_destroy(&ps->base);
    return rs_err_set(err, RS_E_NOMEM, "pipe: could not start the sealing thread");
}
