/*
 * The benchmark's rs_store target, on disk or on the memory backend,
 * chained or not: every operation is one public store call, as an
 * application would make it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "common/clock.h"

static int failed(const char *what, const rs_err *err)
{
    fprintf(stderr, "bench: rs_store %s: %s\n", what, err->msg);
    return -1;
}

static int rs_put(void *t, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    rs_err err = RS_ERR_INIT;
    return rs_store_put(t, k, klen, v, vlen, &err) == RS_OK ? 0 : failed("put", &err);
}

static int rs_get(void *t, const uint8_t *k, size_t klen)
{
    rs_err err = RS_ERR_INIT;
    rs_store_value v = {0};
    rs_code rc = rs_store_get(t, NULL, k, klen, &v, &err);
    if (rc == RS_E_NOTFOUND)
        return 1;
    if (rc != RS_OK)
        return failed("get", &err);
    rs_store_value_release(&v);
    return 0;
}

static void *rs_batch_create(void)
{
    rs_store_batch *b = NULL;
    return rs_store_batch_create(&b, NULL) == RS_OK ? b : NULL;
}

static void rs_batch_put(void *b, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    rs_store_batch_put(b, k, klen, v, vlen);
}

static void rs_batch_clear(void *b) { rs_store_batch_clear(b); }
static void rs_batch_destroy(void *b) { rs_store_batch_destroy(b); }

static int rs_batch_write(void *t, void *b)
{
    rs_err err = RS_ERR_INIT;
    return rs_store_write(t, b, &err) == RS_OK ? 0 : failed("write", &err);
}

struct scan_count {
    uint64_t pairs, bytes;
};

static int count_pair(void *arg, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    struct scan_count *c = arg;
    (void)k;
    (void)v;
    c->pairs++;
    c->bytes += klen + vlen;
    return 0;
}

static int rs_scan(void *t, uint64_t *pairs, uint64_t *bytes)
{
    rs_err err = RS_ERR_INIT;
    struct scan_count c = {0};
    if (rs_store_scan(t, NULL, NULL, count_pair, &c, &err) != RS_OK)
        return failed("scan", &err);
    *pairs += c.pairs;
    *bytes += c.bytes;
    return 0;
}

static int rs_settle(void *t)
{
    rs_err err = RS_ERR_INIT;
    if (rs_store_flush(t, &err) != RS_OK || rs_store_compact(t, &err) != RS_OK)
        return failed("settle", &err);
    return 0;
}

static uint64_t rs_sst_bytes(void *t)
{
    rs_store_stats st;
    rs_err err = RS_ERR_INIT;
    return rs_store_stats_get(t, &st, &err) == RS_OK ? st.live_sst_bytes : 0;
}

static void rs_close(void *t) { rs_store_close(t); }

static const struct bench_ops rs_ops = {
    .put = rs_put,
    .get = rs_get,
    .batch_create = rs_batch_create,
    .batch_put = rs_batch_put,
    .batch_clear = rs_batch_clear,
    .batch_destroy = rs_batch_destroy,
    .batch_write = rs_batch_write,
    .scan = rs_scan,
    .settle = rs_settle,
    .sst_bytes = rs_sst_bytes,
    .close = rs_close,
};

int bench_rs_open(const char *path, unsigned flags, enum bench_sync sync, struct bench_target *out)
{
    int in_memory = (flags & BENCH_RS_MEMORY) != 0;
    static const rs_store_sync policy[] = {
        [BENCH_SYNC_NONE] = RS_STORE_SYNC_NONE,
        [BENCH_SYNC_ALWAYS] = RS_STORE_SYNC_ALWAYS,
        [BENCH_SYNC_GROUP] = RS_STORE_SYNC_GROUP,
    };
    rs_store_config cfg = {.create_if_missing = 1, .in_memory = in_memory, .sync = policy[sync]};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        return failed("open", &err);
    rs_store_set_chained(s, (flags & BENCH_RS_CHAINED) != 0);
    *out = (struct bench_target){.name = in_memory ? "memory" : "rs_store", .ops = &rs_ops, .impl = s};
    return 0;
}
