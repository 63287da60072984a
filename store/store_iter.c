/*
 * Consistent read views and range iteration. A range is turned into
 * RocksDB's lower and upper iterate bounds, so a prefix, a [start, end)
 * window and a reverse scan are all one bounded iterator.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ---- views ---------------------------------------------------------- */

/* A view needs the sequence number its snapshot stands at, which RocksDB
 * 7.8's C API does not return. The latest sequence read on both sides of
 * the snapshot's creation equals it when no write came in between; under a
 * write storm, retry. */
#define VIEW_SEQ_ATTEMPTS 1000

rs_code rs_store_view_open(rs_store *s, rs_store_view **out, rs_err *err)
{
    rs_store_view *v = calloc(1, sizeof *v);
    if (v == NULL)
        return rs_err_set(err, RS_E_NOMEM, "open read view: out of memory");
    for (int i = 0; i < VIEW_SEQ_ATTEMPTS; i++) {
        uint64_t before = rocksdb_get_latest_sequence_number(s->db);
        v->snap = rocksdb_create_snapshot(s->db);
        if (rocksdb_get_latest_sequence_number(s->db) == before) {
            v->seq = before;
            break;
        }
        rocksdb_release_snapshot(s->db, v->snap);
        v->snap = NULL;
    }
    if (v->snap == NULL) {
        free(v);
        return rs_err_set(err, RS_E_BUSY, "open read view on '%s': writes never paused long enough", s->path);
    }
    v->store = s;
    v->read_opts = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(v->read_opts, v->snap);
    v->state_read_opts = store_state_latest_opts(v->snap);
    *out = v;
    return RS_OK;
}

uint64_t rs_store_view_seq(const rs_store_view *v) { return v->seq; }

void rs_store_view_close(rs_store_view *v)
{
    if (v == NULL)
        return;
    rocksdb_readoptions_destroy(v->read_opts);
    rocksdb_readoptions_destroy(v->state_read_opts);
    rocksdb_release_snapshot(v->store->db, v->snap);
    free(v);
}

/* ---- iterators ------------------------------------------------------ */

struct rs_store_iter {
    rocksdb_iterator_t    *it;
    rocksdb_readoptions_t *read_opts;
    uint8_t                ts[STORE_TS_BYTES]; /* a version's read timestamp: outlives read_opts */
    uint8_t               *lower;  /* bounds must outlive the iterator */
    size_t                 lower_len;
    uint8_t               *upper;
    size_t                 upper_len;
    uint64_t               limit;
    uint64_t               seen;
    int                    reverse;
    int                    started;
    int                    done;   /* past the end, or failed: stay there */
    const char            *path;
};

int store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

int store_keyed_cmp(const void *pa, const void *pb)
{
    const struct store_keyed *a = pa, *b = pb;
    int c = store_key_cmp(a->key, a->key_len, b->key, b->key_len);
    if (c != 0)
        return c;
    return a->n < b->n ? -1 : a->n > b->n;
}

/* The smallest key greater than every key that starts with prefix, or
 * length 0 when there is none (a prefix of only 0xff bytes). */
static size_t prefix_successor(const uint8_t *prefix, size_t len, uint8_t *out)
{
    memcpy(out, prefix, len);
    while (len > 0) {
        if (out[len - 1] != 0xff) {
            out[len - 1]++;
            return len;
        }
        len--;
    }
    return 0;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len == 0 ? 1 : len);
    if (d != NULL && len > 0)
        memcpy(d, p, len);
    return d;
}

int store_range_bounds(const rs_store_range *r, uint8_t **lower, size_t *lower_len, uint8_t **upper,
                       size_t *upper_len)
{
    const uint8_t *lo = r->start;
    size_t lo_len = r->start_len;
    if (r->prefix != NULL && (lo == NULL || store_key_cmp(r->prefix, r->prefix_len, lo, lo_len) > 0)) {
        lo = r->prefix;
        lo_len = r->prefix_len;
    }
    if (lo != NULL && (*lower = dup_bytes(lo, lo_len)) == NULL)
        return -1;
    *lower_len = lo_len;

    const uint8_t *hi = r->end;
    size_t hi_len = r->end_len;
    uint8_t *succ = NULL;
    if (r->prefix != NULL && r->prefix_len > 0) {
        if ((succ = malloc(r->prefix_len)) == NULL)
            return -1;
        size_t succ_len = prefix_successor(r->prefix, r->prefix_len, succ);
        if (succ_len > 0 && (hi == NULL || store_key_cmp(succ, succ_len, hi, hi_len) < 0)) {
            hi = succ;
            hi_len = succ_len;
        }
    }
    if (hi != NULL && (*upper = dup_bytes(hi, hi_len)) == NULL) {
        free(succ);
        return -1;
    }
    *upper_len = hi_len;
    free(succ);
    return 0;
}

static int set_bounds(rs_store_iter *it, const rs_store_range *r)
{
    return store_range_bounds(r, &it->lower, &it->lower_len, &it->upper, &it->upper_len);
}

static void iter_free(rs_store_iter *it)
{
    if (it->it != NULL)
        rocksdb_iter_destroy(it->it);
    if (it->read_opts != NULL)
        rocksdb_readoptions_destroy(it->read_opts);
    free(it->lower);
    free(it->upper);
    free(it);
}

/* The iterator with its bounds and read options, not yet over a family. */
static rs_code iter_prepare(rs_store *s, const rs_store_range *range, rs_store_iter **out, rs_err *err)
{
    static const rs_store_range everything;
    if (range == NULL)
        range = &everything;
    rs_store_iter *it = calloc(1, sizeof *it);
    if (it == NULL || set_bounds(it, range) != 0) {
        if (it != NULL)
            iter_free(it);
        return rs_err_set(err, RS_E_NOMEM, "open iterator on '%s': out of memory", s->path);
    }
    it->limit = range->limit;
    it->reverse = range->reverse;
    it->path = s->path;
    it->read_opts = rocksdb_readoptions_create();
    if (it->lower != NULL)
        rocksdb_readoptions_set_iterate_lower_bound(it->read_opts, (const char *)it->lower, it->lower_len);
    if (it->upper != NULL)
        rocksdb_readoptions_set_iterate_upper_bound(it->read_opts, (const char *)it->upper, it->upper_len);
    *out = it;
    return RS_OK;
}

rs_code rs_store_iter_open(rs_store *s, const rs_store_view *view, const rs_store_range *range,
                           rs_store_iter **out, rs_err *err)
{
    rs_store_iter *it = NULL;
    rs_code rc = iter_prepare(s, range, &it, err);
    if (rc != RS_OK)
        return rc;
    if (view != NULL)
        rocksdb_readoptions_set_snapshot(it->read_opts, view->snap);
    it->it = rocksdb_create_iterator_cf(s->db, it->read_opts, store_user_iter_cf(s, it->read_opts));
    *out = it;
    return RS_OK;
}

rs_code store_iter_open_at(rs_store *s, const rocksdb_snapshot_t *snap, uint64_t tick,
                           const rs_store_range *range, rs_store_iter **out, rs_err *err)
{
    rs_store_iter *it = NULL;
    rs_code rc = iter_prepare(s, range, &it, err);
    if (rc != RS_OK)
        return rc;
    if (snap != NULL)
        rocksdb_readoptions_set_snapshot(it->read_opts, snap);
    store_put_be64(it->ts, tick);
    rocksdb_readoptions_set_timestamp(it->read_opts, (const char *)it->ts, sizeof it->ts);
    it->it = rocksdb_create_iterator_cf(s->db, it->read_opts, s->cf[STORE_CF_STATE]);
    *out = it;
    return RS_OK;
}

int rs_store_iter_next(rs_store_iter *it, const uint8_t **key, size_t *key_len, const uint8_t **val,
                       size_t *val_len)
{
    /* RocksDB asserts that an iterator is valid before Next() or Prev(),
     * so a caller that asks again after the end must not reach it */
    if (it->done || (it->limit != 0 && it->seen >= it->limit))
        return 0;
    if (!it->started) {
        it->started = 1;
        if (it->reverse)
            rocksdb_iter_seek_to_last(it->it);
        else
            rocksdb_iter_seek_to_first(it->it);
    } else if (it->reverse) {
        rocksdb_iter_prev(it->it);
    } else {
        rocksdb_iter_next(it->it);
    }
    if (!rocksdb_iter_valid(it->it)) {
        it->done = 1;
        return 0;
    }
    *key = (const uint8_t *)rocksdb_iter_key(it->it, key_len);
    *val = (const uint8_t *)rocksdb_iter_value(it->it, val_len);
    it->seen++;
    return 1;
}

rs_code rs_store_iter_status(const rs_store_iter *it, rs_err *err)
{
    char *errptr = NULL;
    rocksdb_iter_get_error(it->it, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "scan", it->path);
    return RS_OK;
}

void rs_store_iter_close(rs_store_iter *it)
{
    if (it != NULL)
        iter_free(it);
}

rs_code store_iter_scan(rs_store_iter *it, rs_store_scan_fn fn, void *arg, rs_err *err)
{
    const uint8_t *k, *v;
    size_t klen, vlen;
    while (rs_store_iter_next(it, &k, &klen, &v, &vlen))
        if (fn(arg, k, klen, v, vlen) != 0)
            break;
    rs_code rc = rs_store_iter_status(it, err);
    rs_store_iter_close(it);
    return rc;
}

rs_code rs_store_scan(rs_store *s, const rs_store_view *view, const rs_store_range *range, rs_store_scan_fn fn,
                      void *arg, rs_err *err)
{
    rs_store_iter *it = NULL;
    rs_code rc = rs_store_iter_open(s, view, range, &it, err);
    return rc != RS_OK ? rc : store_iter_scan(it, fn, arg, err);
}
