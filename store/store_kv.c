/*
 * Point reads, writes and write batches. Every write goes through
 * store_write_raw(), the one place that applies the sync policy, and
 * store_commit_write() (store_commit.c), which stamps and chains it.
 */
#include <stdlib.h>

#include "store/store_int.h"

/* ---- reads ---------------------------------------------------------- */

void rs_store_value_release(rs_store_value *val)
{
    if (val == NULL || val->pin == NULL)
        return;
    rocksdb_pinnableslice_destroy(val->pin);
    val->pin = NULL;
    val->data = NULL;
    val->len = 0;
}

static void value_from_pin(rs_store_value *val, rocksdb_pinnableslice_t *pin)
{
    size_t len = 0;
    const char *data = rocksdb_pinnableslice_value(pin, &len);
    val->pin = pin;
    val->data = (const uint8_t *)data;
    val->len = len;
}

rs_code rs_store_get(rs_store *s, const rs_store_view *view, const uint8_t *key, size_t key_len,
                     rs_store_value *val, rs_err *err)
{
    char *errptr = NULL;
    struct store_user_read r;
    store_user_read(s, view, &r);
    rocksdb_pinnableslice_t *pin = rocksdb_get_pinned_cf(s->db, r.ro, r.cf, (const char *)key, key_len, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "get", s->path);
    if (pin == NULL)
        return RS_E_NOTFOUND;
    value_from_pin(val, pin);
    return RS_OK;
}

rs_code rs_store_multi_get(rs_store *s, const rs_store_view *view, size_t n, const uint8_t *const *keys,
                           const size_t *key_lens, rs_store_value *vals, rs_code *codes, rs_err *err)
{
    if (n == 0)
        return RS_OK;
    rocksdb_pinnableslice_t **pins = calloc(n, sizeof *pins);
    char **errs = calloc(n, sizeof *errs);
    if (pins == NULL || errs == NULL) {
        free(pins);
        free(errs);
        return rs_err_set(err, RS_E_NOMEM, "multi-get of %zu keys: out of memory", n);
    }
    struct store_user_read r;
    store_user_read(s, view, &r);
    rocksdb_batched_multi_get_cf(s->db, r.ro, r.cf, n, (const char *const *)keys, key_lens, pins, errs, 0);
    for (size_t i = 0; i < n; i++) {
        vals[i] = (rs_store_value){0};
        if (errs[i] != NULL) {
            codes[i] = store_err_from(err, errs[i], "multi-get", s->path);
            rocksdb_pinnableslice_destroy(pins[i]);
        } else if (pins[i] == NULL) {
            codes[i] = RS_E_NOTFOUND;
        } else {
            codes[i] = RS_OK;
            value_from_pin(&vals[i], pins[i]);
        }
    }
    free(pins);
    free(errs);
    return RS_OK;
}

/* ---- writes --------------------------------------------------------- */

rs_code store_write_apply(rs_store *s, rocksdb_writebatch_t *wb, uint64_t *seq_out, rs_err *err)
{
    if (s->cfg.read_only)
        return rs_err_set(err, RS_E_UNSUPPORTED, "write: database '%s' is open read-only", s->path);
    /* ALWAYS: RocksDB fsyncs the WAL inside the write (one fsync for the
     * write group); the others write without and leave the fsync to the
     * syncer (or to nobody) */
    return store_commit_write(s, wb, s->cfg.sync == RS_STORE_SYNC_ALWAYS, seq_out, err);
}

rs_code store_write_wait(rs_store *s, uint64_t seq, rs_err *err)
{
    /* ALWAYS: the write itself fsynced; waiting would cost a second fsync */
    if (s->cfg.sync == RS_STORE_SYNC_ALWAYS)
        return RS_OK;
    return store_syncer_wait(s, seq, err);
}

rs_code store_write_raw(rs_store *s, rocksdb_writebatch_t *wb, rs_err *err)
{
    uint64_t seq = 0;
    rs_code rc = store_write_apply(s, wb, &seq, err);
    if (rc != RS_OK)
        return rc;
    return store_write_wait(s, seq, err);
}

/* A versioned database's keys are written only by versioned commits (and
 * rollback, pruning): a plain write is not recorded in history, so reads at
 * older versions would see it as if it had always been there. A read-only
 * open and a replica refuse first, with their own reason. */
static rs_code refuse_plain_write(rs_store *s, rs_err *err)
{
    if (s->cfg.read_only || rs_store_is_replica(s) || !rs_store_is_versioned(s))
        return RS_OK;
    rs_err_set(err, RS_E_INVALID, "database '%s' holds versioned state: write through rs_store_commit", s->path);
    rs_err_hint(err, "a plain write is not in the history that reads at older versions use; commit it as the "
                     "next version");
    return RS_E_INVALID;
}

rs_code rs_store_put(rs_store *s, const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                     rs_err *err)
{
    rs_code rc = refuse_plain_write(s, err);
    if (rc != RS_OK)
        return rc;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put(wb, (const char *)key, key_len, (const char *)val, val_len);
    rc = store_write_raw(s, wb, err);
    rocksdb_writebatch_destroy(wb);
    return rc;
}

rs_code rs_store_delete(rs_store *s, const uint8_t *key, size_t key_len, rs_err *err)
{
    rs_code rc = refuse_plain_write(s, err);
    if (rc != RS_OK)
        return rc;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_delete(wb, (const char *)key, key_len);
    rc = store_write_raw(s, wb, err);
    rocksdb_writebatch_destroy(wb);
    return rc;
}

rs_code rs_store_write(rs_store *s, rs_store_batch *b, rs_err *err)
{
    rs_code rc = refuse_plain_write(s, err);
    return rc != RS_OK ? rc : store_write_raw(s, b->wb, err);
}

rs_code rs_store_write_nowait(rs_store *s, rs_store_batch *b, uint64_t *seq_out, rs_err *err)
{
    if (s->cfg.read_only)
        return rs_err_set(err, RS_E_UNSUPPORTED, "write: database '%s' is open read-only", s->path);
    rs_code rc = refuse_plain_write(s, err);
    return rc != RS_OK ? rc : store_commit_write(s, b->wb, 0, seq_out, err);
}

/* ---- batches -------------------------------------------------------- */

rs_code rs_store_batch_create(rs_store_batch **out, rs_err *err)
{
    rs_store_batch *b = malloc(sizeof *b);
    if (b == NULL)
        return rs_err_set(err, RS_E_NOMEM, "create write batch: out of memory");
    b->wb = rocksdb_writebatch_create();
    b->has_range_delete = 0;
    *out = b;
    return RS_OK;
}

void rs_store_batch_destroy(rs_store_batch *b)
{
    if (b == NULL)
        return;
    rocksdb_writebatch_destroy(b->wb);
    free(b);
}

void rs_store_batch_put(rs_store_batch *b, const uint8_t *key, size_t key_len, const uint8_t *val,
                        size_t val_len)
{
    rocksdb_writebatch_put(b->wb, (const char *)key, key_len, (const char *)val, val_len);
}

void rs_store_batch_delete(rs_store_batch *b, const uint8_t *key, size_t key_len)
{
    rocksdb_writebatch_delete(b->wb, (const char *)key, key_len);
}

void rs_store_batch_delete_range(rs_store_batch *b, const uint8_t *start, size_t start_len, const uint8_t *end,
                                 size_t end_len)
{
    rocksdb_writebatch_delete_range(b->wb, (const char *)start, start_len, (const char *)end, end_len);
    b->has_range_delete = 1;
}

size_t rs_store_batch_count(const rs_store_batch *b)
{
    return (size_t)rocksdb_writebatch_count(b->wb);
}

size_t rs_store_batch_bytes(const rs_store_batch *b)
{
    size_t len = 0;
    rocksdb_writebatch_data(b->wb, &len);
    return len;
}

void rs_store_batch_clear(rs_store_batch *b)
{
    rocksdb_writebatch_clear(b->wb);
    b->has_range_delete = 0;
}
