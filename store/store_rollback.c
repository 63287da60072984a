/*
 * Rollback: the state as of an earlier version, restored in one atomic
 * write (a chain reorganisation). The change lists of the versions after
 * it name every key they wrote; the first of those versions to write a key
 * recorded the value the key had at the target. Those values go back into
 * the latest state, and the later versions' history, change lists and
 * records are deleted, in the same batch as the versions record.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/log.h"
#include "store/store_int.h"

/* The change lists of the versions rolled back are held in memory; past
 * this, roll back in steps (each one atomic, each one a consistent state). */
#define ROLLBACK_MAX_BYTES (256ull << 20)

struct rollback {
    rs_store           *s;
    uint64_t            to;
    struct store_keyed *pairs;   /* (key, version) for each change after to */
    size_t              n, cap;
    uint8_t           **chunks;  /* the keys' copies */
    size_t              n_chunks, cap_chunks;
    uint64_t            bytes;
    int                 too_big;
};

static int add_pair(void *arg, uint64_t version, const uint8_t *key, size_t key_len)
{
    struct rollback *rb = arg;
    rb->bytes += key_len + sizeof(struct store_keyed);
    if (rb->bytes > ROLLBACK_MAX_BYTES) {
        rb->too_big = 1;
        return 1;
    }
    struct store_keyed *pairs = rs_array_grow(rb->pairs, &rb->cap, rb->n, sizeof *rb->pairs, 256);
    if (pairs == NULL)
        return -1;
    rb->pairs = pairs;
    uint8_t **chunks = rs_array_grow(rb->chunks, &rb->cap_chunks, rb->n_chunks, sizeof *rb->chunks, 256);
    if (chunks == NULL)
        return -1;
    rb->chunks = chunks;
    uint8_t *copy = malloc(key_len == 0 ? 1 : key_len);
    if (copy == NULL)
        return -1;
    memcpy(copy, key, key_len);
    rb->chunks[rb->n_chunks++] = copy;
    rb->pairs[rb->n++] = (struct store_keyed){copy, key_len, version};
    return 0;
}

/* For one key (pairs[i] is its first change after the target): its value
 * at the target goes back into the latest state. */
static rs_code restore_key(struct rollback *rb, rocksdb_writebatch_t *wb, const struct store_keyed *first, uint8_t *hkey,
                           rs_err *err)
{
    rs_store *s = rb->s;
    size_t hlen = store_hkey_encode(first->key, first->key_len, first->n, hkey);
    char *errptr = NULL;
    size_t len = 0;
    char *val = rocksdb_get_cf(s->db, s->read_opts, s->cf[STORE_CF_HISTORY], (const char *)hkey, hlen, &len,
                               &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "rollback: read history", s->path);
    if (val == NULL || len == 0 || (val[0] & ~(STORE_HIST_PRESENT | STORE_HIST_KEPT)) != 0) {
        rocksdb_free(val);
        return rs_err_set(err, RS_E_CORRUPT,
                          "database '%s': history of version %" PRIu64 " is missing or malformed for a key it wrote",
                          s->path, first->n);
    }
    if (val[0] & STORE_HIST_PRESENT)
        rocksdb_writebatch_put(wb, (const char *)first->key, first->key_len, val + 1, len - 1);
    else
        rocksdb_writebatch_delete(wb, (const char *)first->key, first->key_len);
    rocksdb_free(val);
    return RS_OK;
}

static rs_code build_batch(struct rollback *rb, const struct store_vstate *st, rocksdb_writebatch_t *wb, rs_err *err)
{
    rs_store *s = rb->s;
    struct store_vstate next = {RS_STORE_VERSION_ROLLBACK, rb->to, st->earliest};
    store_vstate_put(wb, s, &next);
    qsort(rb->pairs, rb->n, sizeof *rb->pairs, store_keyed_cmp);
    size_t max_key = 0;
    for (size_t i = 0; i < rb->n; i++)
        if (rb->pairs[i].key_len > max_key)
            max_key = rb->pairs[i].key_len;
    uint8_t *hkey = malloc(store_hkey_max(max_key));
    if (hkey == NULL)
        return rs_err_set(err, RS_E_NOMEM, "rollback to version %" PRIu64 ": out of memory", rb->to);
    rs_code rc = RS_OK;
    for (size_t i = 0; i < rb->n && rc == RS_OK; i++) {
        const struct store_keyed *p = &rb->pairs[i];
        if (i == 0 || store_key_cmp(p->key, p->key_len, rb->pairs[i - 1].key, rb->pairs[i - 1].key_len) != 0)
            rc = restore_key(rb, wb, p, hkey, err);
        size_t hlen = store_hkey_encode(p->key, p->key_len, p->n, hkey);
        rocksdb_writebatch_delete_cf(wb, s->cf[STORE_CF_HISTORY], (const char *)hkey, hlen);
    }
    free(hkey);
    for (uint64_t v = rb->to + 1; v <= st->latest && rc == RS_OK; v++) {
        uint8_t ck[8], rk[STORE_VRECORD_KEY_BYTES];
        store_put_be64(ck, v);
        store_vrecord_key(v, rk);
        rocksdb_writebatch_delete_cf(wb, s->cf[STORE_CF_CHANGES], (const char *)ck, sizeof ck);
        rocksdb_writebatch_delete_cf(wb, s->cf[STORE_CF_META], (const char *)rk, sizeof rk);
    }
    return rc;
}

/* Under write_mu, with the target held against pruning. */
static rs_code rollback_locked(struct rollback *rb, const struct store_vstate *st, uint64_t *seq, rs_err *err)
{
    rs_code rc = store_changes_each(rb->s, rb->to + 1, st->latest, add_pair, rb, err);
    if (rc == RS_OK && rb->too_big) {
        rs_err_set(err, RS_E_UNSUPPORTED,
                   "rollback from version %" PRIu64 " to %" PRIu64 ": the keys to restore exceed %llu MiB",
                   st->latest, rb->to, ROLLBACK_MAX_BYTES >> 20);
        rs_err_hint(err, "roll back in several steps: each is atomic and leaves a consistent version");
        return RS_E_UNSUPPORTED;
    }
    if (rc != RS_OK)
        return rc;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rc = build_batch(rb, st, wb, err);
    if (rc == RS_OK)
        rc = store_write_apply(rb->s, wb, seq, err);
    rocksdb_writebatch_destroy(wb);
    return rc;
}

static void rollback_release(struct rollback *rb)
{
    for (size_t i = 0; i < rb->n_chunks; i++)
        free(rb->chunks[i]);
    free(rb->chunks);
    free(rb->pairs);
}

rs_code rs_store_rollback(rs_store *s, uint64_t to, rs_err *err)
{
    if (s->cfg.read_only)
        return rs_err_set(err, RS_E_UNSUPPORTED, "rollback to version %" PRIu64 ": database '%s' is open read-only",
                          to, s->path);
    struct rollback rb = {.s = s, .to = to};
    struct store_vstate st;
    uint64_t seq = 0;
    int held = 0;
    pthread_mutex_lock(&s->v.write_mu);
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc == RS_OK && to != st.latest) {
        held = store_reader_enter(s, to);
        if (held < 0)
            rc = rs_err_set(err, RS_E_NOMEM, "rollback to version %" PRIu64 ": out of memory", to);
        else if (held == 0 || to == 0 || to < st.earliest || to > st.latest)
            rc = store_version_refuse(err, "rollback to", to, &st, store_pending_earliest(s));
        else
            rc = rollback_locked(&rb, &st, &seq, err);
    }
    pthread_mutex_unlock(&s->v.write_mu);
    if (rc == RS_OK && seq != 0)
        rc = store_write_wait(s, seq, err);
    if (held > 0)
        store_reader_leave(s, to);
    rollback_release(&rb);
    if (rc == RS_OK && seq != 0)
        RS_LOG_DEBUG("rolled back from=%" PRIu64 " to=%" PRIu64 " changes=%zu", st.latest, to, rb.n);
    return rc;
}
