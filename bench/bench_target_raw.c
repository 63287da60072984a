/*
 * The benchmark's reference: RocksDB through its own C API, opened with
 * exactly the options rs_store builds (store_options_build), and used the
 * way a careful C program would (pinned gets, reused write options).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "store/store_int.h"

struct raw {
    rocksdb_t              *db;
    rocksdb_options_t      *opts;
    rocksdb_cache_t        *cache;
    rocksdb_readoptions_t  *read;
    rocksdb_writeoptions_t *write;
};

static int failed(const char *what, char *errptr)
{
    fprintf(stderr, "bench: raw rocksdb %s: %s\n", what, errptr);
    rocksdb_free(errptr);
    return -1;
}

static int raw_put(void *t, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    struct raw *r = t;
    char *errptr = NULL;
    rocksdb_put(r->db, r->write, (const char *)k, klen, (const char *)v, vlen, &errptr);
    return errptr == NULL ? 0 : failed("put", errptr);
}

static int raw_get(void *t, const uint8_t *k, size_t klen)
{
    struct raw *r = t;
    char *errptr = NULL;
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned(r->db, r->read, (const char *)k, klen, &errptr);
    if (errptr != NULL)
        return failed("get", errptr);
    if (p == NULL)
        return 1;
    size_t len = 0;
    rocksdb_pinnableslice_value(p, &len);
    rocksdb_pinnableslice_destroy(p);
    return 0;
}

static void *raw_batch_create(void) { return rocksdb_writebatch_create(); }

static void raw_batch_put(void *b, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    rocksdb_writebatch_put(b, (const char *)k, klen, (const char *)v, vlen);
}

static void raw_batch_clear(void *b) { rocksdb_writebatch_clear(b); }
static void raw_batch_destroy(void *b) { rocksdb_writebatch_destroy(b); }

static int raw_batch_write(void *t, void *b)
{
    struct raw *r = t;
    char *errptr = NULL;
    rocksdb_write(r->db, r->write, b, &errptr);
    return errptr == NULL ? 0 : failed("write", errptr);
}

static int raw_scan(void *t, uint64_t *pairs, uint64_t *bytes)
{
    struct raw *r = t;
    rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->read);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        rocksdb_iter_key(it, &klen);
        rocksdb_iter_value(it, &vlen);
        (*pairs)++;
        *bytes += klen + vlen;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    return errptr == NULL ? 0 : failed("scan", errptr);
}

static int raw_settle(void *t)
{
    struct raw *r = t;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    char *errptr = NULL;
    rocksdb_flush(r->db, fo, &errptr);
    rocksdb_flushoptions_destroy(fo);
    if (errptr != NULL)
        return failed("flush", errptr);
    rocksdb_compactoptions_t *co = store_compact_options_create();
    rocksdb_compact_range_opt(r->db, co, NULL, 0, NULL, 0);
    rocksdb_compactoptions_destroy(co);
    return 0;
}

static uint64_t raw_sst_bytes(void *t)
{
    struct raw *r = t;
    uint64_t v = 0;
    return rocksdb_property_int(r->db, "rocksdb.live-sst-files-size", &v) == 0 ? v : 0;
}

static void raw_close(void *t)
{
    struct raw *r = t;
    rocksdb_close(r->db);
    rocksdb_writeoptions_destroy(r->write);
    rocksdb_readoptions_destroy(r->read);
    rocksdb_options_destroy(r->opts);
    rocksdb_cache_destroy(r->cache);
    free(r);
}

static const struct bench_ops raw_ops = {
    .put = raw_put,
    .get = raw_get,
    .batch_create = raw_batch_create,
    .batch_put = raw_batch_put,
    .batch_clear = raw_batch_clear,
    .batch_destroy = raw_batch_destroy,
    .batch_write = raw_batch_write,
    .scan = raw_scan,
    .settle = raw_settle,
    .sst_bytes = raw_sst_bytes,
    .close = raw_close,
};

int bench_raw_open(const char *path, enum bench_sync sync, struct bench_target *out)
{
    rs_store_config cfg = {.create_if_missing = 1};
    rs_store_config_resolve(&cfg);
    struct raw *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    r->opts = store_options_build(&cfg, NULL, &r->cache);
    /* no store, so no WAL keeper: RocksDB's own archive limit instead */
    rocksdb_options_set_WAL_size_limit_MB(r->opts, cfg.wal_keep_bytes >> 20);
    char *errptr = NULL;
    r->db = rocksdb_open(r->opts, path, &errptr);
    if (errptr != NULL) {
        rocksdb_options_destroy(r->opts);
        rocksdb_cache_destroy(r->cache);
        free(r);
        return failed("open", errptr);
    }
    r->read = rocksdb_readoptions_create();
    r->write = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(r->write, sync != BENCH_SYNC_NONE);
    *out = (struct bench_target){.name = "raw", .ops = &raw_ops, .impl = r};
    return 0;
}
