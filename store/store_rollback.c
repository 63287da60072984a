/*
 * Rollback: the state as of an earlier version restored in place, in one
 * atomic write, while the database stays open (a chain reorganisation).
 * The change lists of the versions after the target name every key they
 * wrote; each such key is written again, with its value at the target (or
 * its deletion), at a new tick, above every tick before (store_int.h,
 * "Ticks"). The versions committed next continue from that tick, so they
 * read the target's state, with their own writes over it, while reads of
 * versions up to the target never see a tick past theirs. The later
 * versions' change lists and records are deleted in the same batch as the
 * versions record.
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

/* For one key (pairs[first] is one of its changes): its value at the
 * target, at the rollback's tick. */
static rs_code restore_key(struct rollback *rb, const struct store_vstate *st, rocksdb_writebatch_t *wb,
                           size_t first, uint64_t tick, rs_err *err)
{
    rs_store *s = rb->s;
    const struct store_keyed *k = &rb->pairs[first];
    rs_store_value val = {0};
    /* under write_mu nothing else writes versioned state: no snapshot needed */
    rs_code rc = store_get_as_of(s, NULL, st, rb->to, k->key, k->key_len, &val, NULL, err);
    if (rc != RS_OK && rc != RS_E_NOTFOUND)
        return rc;
    store_state_write(s, wb, k->key, k->key_len, tick, rc == RS_OK ? val.data : NULL, val.len);
    rs_store_value_release(&val);
    return RS_OK;
}

/* The rollback takes the tick after the latest's; the versions after the
 * target start a new epoch right after it. */
static rs_code build_batch(struct rollback *rb, const struct store_vstate *st, rocksdb_writebatch_t *wb, rs_err *err)
{
    rs_store *s = rb->s;
    uint64_t tick = st->latest + st->delta + 1;
    struct store_vstate next = *st;
    next.kind = RS_STORE_VERSION_ROLLBACK;
    next.latest = rb->to;
    next.epoch_start = rb->to + 1;
    next.delta = tick - rb->to;
    store_vstate_put(wb, s, &next);
    qsort(rb->pairs, rb->n, sizeof *rb->pairs, store_keyed_cmp);
    rs_code rc = RS_OK;
    for (size_t i = 0; i < rb->n && rc == RS_OK; i++) {
        const struct store_keyed *p = &rb->pairs[i];
        if (i == 0 || store_key_cmp(p->key, p->key_len, rb->pairs[i - 1].key, rb->pairs[i - 1].key_len) != 0)
            rc = restore_key(rb, st, wb, i, tick, err);
    }
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
