/*
 * The benchmark's measurements: each row is one loop body run by
 * spec->threads workers that start together; the row's rate is the work
 * over the wall time from their start to the last one's end, and single
 * operations are timed one by one for the latency percentiles.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/clock.h"

#define MAX_THREADS 256

struct worker {
    struct bench_target     *t;
    const struct bench_spec *s;
    pthread_barrier_t       *start;
    void                   (*body)(struct worker *w);
    int                      id;
    uint64_t                 ops;      /* operations to do (or 0: until the deadline) */
    uint64_t                 first;    /* first key index, for rows that write ranges */
    uint64_t                 deadline_ns;
    uint32_t                *lat_ns;   /* one per operation, or NULL */
    uint64_t                 done;
    int                      failed;
    uint8_t                  key[RS_WORKLOAD_MAX_KEY];
    uint8_t                 *val;
};

/* A random existing key index, different per worker and per step. */
static uint64_t random_index(const struct worker *w, uint64_t step)
{
    return rs_workload_mix(((uint64_t)w->id << 40) ^ step ^ 0x5eed) % w->s->n_keys;
}

static void record(struct worker *w, uint64_t i, uint64_t t0)
{
    if (w->lat_ns != NULL) {
        uint64_t ns = rs_clock_mono_ns() - t0;
        w->lat_ns[i] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
    }
}

/* ---- loop bodies ---------------------------------------------------- */

static void body_random_puts(struct worker *w)
{
    const rs_workload *wl = &w->s->workload;
    for (uint64_t i = 0; i < w->ops && !w->failed; i++) {
        uint64_t idx = random_index(w, i);
        rs_workload_key(wl, idx, w->key);
        rs_workload_value(wl, idx, w->val);
        uint64_t t0 = rs_clock_mono_ns();
        w->failed = w->t->ops->put(w->t->impl, w->key, wl->key_size, w->val, wl->value_size) != 0;
        record(w, i, t0);
        w->done++;
    }
}

static void body_random_gets(struct worker *w)
{
    const rs_workload *wl = &w->s->workload;
    for (uint64_t i = 0; i < w->ops && !w->failed; i++) {
        rs_workload_key(wl, random_index(w, i), w->key);
        uint64_t t0 = rs_clock_mono_ns();
        /* every key read exists: a miss is a failure of the benchmark */
        w->failed = w->t->ops->get(w->t->impl, w->key, wl->key_size) != 0;
        record(w, i, t0);
        w->done++;
    }
}

/* Writes keys [first, first + ops) in batches of spec->batch. */
static void body_batches(struct worker *w)
{
    const rs_workload *wl = &w->s->workload;
    void *b = w->t->ops->batch_create();
    uint64_t end = w->first + w->ops;
    for (uint64_t i = w->first; i < end && !w->failed;) {
        w->t->ops->batch_clear(b);
        for (int n = 0; n < w->s->batch && i < end; n++, i++) {
            rs_workload_key(wl, i, w->key);
            rs_workload_value(wl, i, w->val);
            w->t->ops->batch_put(b, w->key, wl->key_size, w->val, wl->value_size);
        }
        w->failed = w->t->ops->batch_write(w->t->impl, b) != 0;
        w->done = i - w->first;
    }
    w->t->ops->batch_destroy(b);
}

/* New keys (past every index the others use) until the deadline. */
static void body_timed_puts(struct worker *w)
{
    const rs_workload *wl = &w->s->workload;
    uint64_t base = w->s->n_keys + ((uint64_t)w->id << 32);
    for (uint64_t i = 0; rs_clock_mono_ns() < w->deadline_ns && !w->failed; i++) {
        rs_workload_key(wl, base + i, w->key);
        rs_workload_value(wl, base + i, w->val);
        w->failed = w->t->ops->put(w->t->impl, w->key, wl->key_size, w->val, wl->value_size) != 0;
        w->done++;
    }
}

/* ---- running a row -------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->val = malloc(w->s->workload.value_size + 1);
    pthread_barrier_wait(w->start);
    if (w->val == NULL)
        w->failed = 1;
    else
        w->body(w);
    free(w->val);
    return NULL;
}

/* Sorts the workers' latencies into one array and reads the percentiles. */
static void percentiles(struct worker *ws, int n, uint64_t per_worker, struct bench_result *r)
{
    uint64_t total = per_worker * (uint64_t)n;
    uint32_t *all = malloc(total * sizeof *all);
    if (all == NULL)
        return;
    for (int i = 0; i < n; i++)
        memcpy(all + (uint64_t)i * per_worker, ws[i].lat_ns, per_worker * sizeof *all);
    qsort(all, total, sizeof *all, cmp_u32);
    r->p50_ns = all[total / 2];
    r->p99_ns = all[total * 99 / 100];
    r->p999_ns = all[total * 999 / 1000];
    free(all);
}

/* Runs body on spec->threads workers, each doing per_worker operations
 * (from first + id * per_worker) or running until the deadline. */
static struct bench_result run_row(struct bench_target *t, const struct bench_spec *s,
                                   void (*body)(struct worker *), uint64_t per_worker, uint64_t first,
                                   int timed, int with_latency)
{
    struct bench_result r = {0};
    int n = s->threads < 1 ? 1 : s->threads > MAX_THREADS ? MAX_THREADS : s->threads;
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    if (ws == NULL) {
        r.failed = 1;
        return r;
    }
    pthread_t tids[MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        ws[i] = (struct worker){.t = t, .s = s, .start = &start, .body = body, .id = i, .ops = per_worker,
                                .first = first + (uint64_t)i * per_worker};
        if (with_latency)
            ws[i].lat_ns = calloc(per_worker, sizeof *ws[i].lat_ns);
        pthread_create(&tids[i], NULL, worker_main, &ws[i]);
    }
    /* the barrier publishes the deadline to the workers */
    uint64_t t0 = rs_clock_mono_ns();
    for (int i = 0; i < n; i++)
        ws[i].deadline_ns = timed ? t0 + (uint64_t)(s->seconds * 1e9) : 0;
    pthread_barrier_wait(&start);
    uint64_t done = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(tids[i], NULL);
        done += ws[i].done;
        r.failed |= ws[i].failed;
    }
    double secs = (double)(rs_clock_mono_ns() - t0) / 1e9;
    r.per_sec = (double)done / secs;
    if (with_latency && !r.failed)
        percentiles(ws, n, per_worker, &r);
    for (int i = 0; i < n; i++)
        free(ws[i].lat_ns);
    free(ws);
    pthread_barrier_destroy(&start);
    return r;
}

/* ---- the rows ------------------------------------------------------- */

struct bench_result bench_fill(struct bench_target *t, const struct bench_spec *s)
{
    struct bench_spec one = *s;
    one.threads = 1;
    return run_row(t, &one, body_batches, s->ops, s->first, 0, 0);
}

struct bench_result bench_random_puts(struct bench_target *t, const struct bench_spec *s)
{
    return run_row(t, s, body_random_puts, s->ops / (uint64_t)s->threads, 0, 0, 1);
}

struct bench_result bench_random_gets(struct bench_target *t, const struct bench_spec *s)
{
    return run_row(t, s, body_random_gets, s->ops / (uint64_t)s->threads, 0, 0, 1);
}

struct bench_result bench_batched_puts(struct bench_target *t, const struct bench_spec *s)
{
    uint64_t per = s->ops / (uint64_t)s->threads;
    if (per * (uint64_t)s->threads > s->n_keys)
        per = s->n_keys / (uint64_t)s->threads;
    return run_row(t, s, body_batches, per, 0, 0, 0);
}

struct bench_result bench_timed_puts(struct bench_target *t, const struct bench_spec *s)
{
    return run_row(t, s, body_timed_puts, 0, 0, 1, 0);
}

struct bench_result bench_scan(struct bench_target *t, const struct bench_spec *s)
{
    (void)s;
    struct bench_result r = {0};
    uint64_t pairs = 0, bytes = 0;
    uint64_t t0 = rs_clock_mono_ns();
    r.failed = t->ops->scan(t->impl, &pairs, &bytes) != 0;
    double secs = (double)(rs_clock_mono_ns() - t0) / 1e9;
    r.per_sec = (double)bytes / 1e6 / secs;
    return r;
}
