/*
 * Reads as of a version. The state family holds every value at its
 * version's tick, so the value of a key at H is one lookup at H's tick, and
 * a scan at H one iterator. Below earliest, a version keep-every kept reads
 * the kept family first: pruning copied there, for each key a later pruned
 * version changed, the value it had at the kept version; any other key has
 * not changed since, and reads as of earliest. Every read registers its
 * version so that pruning cannot pass it meanwhile (store_floor.c); a read
 * of a kept version also runs on one RocksDB snapshot.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ------------------------------------------------------------------ */
/* A versioned read                                                    */
/* ------------------------------------------------------------------ */

struct vread {
    rs_store                 *s;
    uint64_t                  version;
    int                       registered;  /* holds version against pruning */
    int                       kept_held;   /* holds garbage collection at st.earliest */
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t    *ro;
    struct store_vstate       st;
};

/* A read of a kept version retries its snapshot if pruning moved garbage
 * collection past it in between; each retry means a prune round finished
 * meanwhile, so few are ever needed. */
#define KEPT_READ_ATTEMPTS 100

static void vread_snapshot_release(struct vread *r)
{
    if (r->ro != NULL)
        rocksdb_readoptions_destroy(r->ro);
    if (r->snap != NULL)
        rocksdb_release_snapshot(r->s->db, r->snap);
    r->ro = NULL;
    r->snap = NULL;
}

static void vread_end(struct vread *r)
{
    vread_snapshot_release(r);
    if (r->registered)
        store_reader_leave(r->s, r->version);
    if (r->kept_held)
        store_kept_reader_leave(r->s, r->st.earliest);
}

static rs_code vread_snapshot(struct vread *r, rs_err *err)
{
    r->snap = rocksdb_create_snapshot(r->s->db);
    r->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(r->ro, r->snap);
    return store_vstate_read(r->s, r->ro, &r->st, err);
}

/* Not held by the decision: a version below earliest, readable if
 * keep-every kept it (its record outlives pruning), or one a round is
 * pruning right now but not yet in this snapshot. Either is read from the
 * snapshot with garbage collection (the state family's
 * full_history_ts_low) held at the snapshot's earliest
 * (store_kept_reader_enter), so reads as of it stay whole. */
static rs_code vread_kept(struct vread *r, const char *what, rs_err *err)
{
    for (int i = 0; i < KEPT_READ_ATTEMPTS; i++) {
        struct store_vrecord rec;
        rs_code rc = r->version >= r->st.earliest ? RS_OK : store_vrecord_read(r->s, r->ro, r->version, &rec, err);
        if (rc == RS_E_NOTFOUND)
            return store_version_refuse(err, what, r->version, &r->st, 0);
        if (rc != RS_OK)
            return rc;
        int held = store_kept_reader_enter(r->s, r->st.earliest);
        if (held != 0) {
            r->kept_held = held > 0;
            return held > 0 ? RS_OK
                            : rs_err_set(err, RS_E_NOMEM, "%s version %" PRIu64 ": out of memory", what, r->version);
        }
        vread_snapshot_release(r);
        if ((rc = vread_snapshot(r, err)) != RS_OK)
            return rc;
    }
    return rs_err_set(err, RS_E_BUSY, "%s version %" PRIu64 ": pruning kept moving; retry", what, r->version);
}

/* Holds the version and checks it is readable: in [earliest, latest] and
 * not below what pruning has decided, or a version keep-every kept. A held
 * version needs no snapshot: whatever is written meanwhile takes newer
 * ticks than its, and pruning does not pass it. A kept one is read from a
 * snapshot, in which the versions record and both families agree. */
static rs_code vread_begin(rs_store *s, uint64_t version, const char *what, struct vread *r, rs_err *err)
{
    *r = (struct vread){.s = s, .version = version};
    if (s->v.layout1)
        return store_layout_refuse(s, err);
    int reg = store_reader_enter(s, version);
    if (reg < 0)
        return rs_err_set(err, RS_E_NOMEM, "%s version %" PRIu64 ": out of memory", what, version);
    r->registered = reg;
    rs_code rc = store_vstate_read(s, NULL, &r->st, err);
    if (rc == RS_OK && r->registered && version >= r->st.earliest && version <= r->st.latest)
        return RS_OK;
    if (rc == RS_OK)
        rc = vread_snapshot(r, err);
    if (rc != RS_OK)
        return rc;
    if (version == 0 || version > r->st.latest)
        return store_version_refuse(err, what, version, &r->st, 0);
    if (version >= r->st.earliest && r->registered)
        return RS_OK;
    return vread_kept(r, what, err);
}

static int tag_ok(uint8_t tag) { return (tag & ~STORE_HIST_PRESENT) == 0; }

/* ------------------------------------------------------------------ */
/* Point reads                                                         */
/* ------------------------------------------------------------------ */

static rs_code get_state(rs_store *s, const rocksdb_snapshot_t *snap, uint64_t tick, const uint8_t *key,
                         size_t key_len, rs_store_value *val, rs_err *err)
{
    uint8_t ts[STORE_TS_BYTES];
    rocksdb_readoptions_t *ro = store_state_read_opts(snap, tick, ts);
    char *errptr = NULL;
    rocksdb_pinnableslice_t *pin =
        rocksdb_get_pinned_cf(s->db, ro, s->cf[STORE_CF_STATE], (const char *)key, key_len, &errptr);
    rocksdb_readoptions_destroy(ro);
    if (errptr != NULL)
        return store_err_from(err, errptr, "read at a version", s->path);
    if (pin == NULL)
        return RS_E_NOTFOUND;
    size_t len = 0;
    const char *p = rocksdb_pinnableslice_value(pin, &len);
    *val = (rs_store_value){.data = (const uint8_t *)p, .len = len, .pin = pin};
    return RS_OK;
}

/* The kept family's key of key's entry for the first kept version at or
 * after version and below earliest, into hkey (store_hkey_max(key_len)
 * bytes), *hlen 0 if there is none. Entries at or above earliest belong to
 * a prune round not finished as of snap. */
static rs_code first_kept(rs_store *s, const rocksdb_snapshot_t *snap, uint64_t version, uint64_t earliest,
                          const uint8_t *key, size_t key_len, uint8_t *hkey, size_t *hlen, rs_err *err)
{
    uint8_t *upper = malloc(store_hkey_max(key_len));
    if (upper == NULL)
        return rs_err_set(err, RS_E_NOMEM, "read at version %" PRIu64 ": out of memory", version);
    size_t ulen = store_hkey_encode(key, key_len, earliest, upper);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (snap != NULL)
        rocksdb_readoptions_set_snapshot(ro, snap);
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)upper, ulen);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_KEPT]);
    size_t seek_len = store_hkey_encode(key, key_len, version, hkey);
    rocksdb_iter_seek(it, (const char *)hkey, seek_len);
    *hlen = 0;
    int bad = 0;
    if (rocksdb_iter_valid(it)) {
        /* within the bound every key is (key, some version): seek_len long */
        size_t klen = 0;
        const char *k = rocksdb_iter_key(it, &klen);
        bad = klen != seek_len;
        if (!bad) {
            memcpy(hkey, k, klen);
            *hlen = klen;
        }
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    free(upper);
    if (errptr != NULL)
        return store_err_from(err, errptr, "read kept versions", s->path);
    if (bad)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': malformed kept key", s->path);
    return RS_OK;
}

static rs_code get_kept_entry(rs_store *s, const rocksdb_snapshot_t *snap, const uint8_t *hkey, size_t hlen,
                              rs_store_value *val, rs_err *err)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (snap != NULL)
        rocksdb_readoptions_set_snapshot(ro, snap);
    char *errptr = NULL;
    rocksdb_pinnableslice_t *pin =
        rocksdb_get_pinned_cf(s->db, ro, s->cf[STORE_CF_KEPT], (const char *)hkey, hlen, &errptr);
    rocksdb_readoptions_destroy(ro);
    if (errptr != NULL)
        return store_err_from(err, errptr, "read kept versions", s->path);
    if (pin == NULL)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': a kept entry vanished under a snapshot", s->path);
    size_t len = 0;
    const uint8_t *p = (const uint8_t *)rocksdb_pinnableslice_value(pin, &len);
    if (len == 0 || !tag_ok(p[0])) {
        rocksdb_pinnableslice_destroy(pin);
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': kept entry with a bad tag", s->path);
    }
    if ((p[0] & STORE_HIST_PRESENT) == 0) {
        rocksdb_pinnableslice_destroy(pin);
        return RS_E_NOTFOUND;
    }
    *val = (rs_store_value){.data = p + 1, .len = len - 1, .pin = pin};
    return RS_OK;
}

/* A version's tick as of snap (its record is read only for a version
 * before the current epoch). */
static rs_code tick_of(rs_store *s, const rocksdb_snapshot_t *snap, const struct store_vstate *st, uint64_t version,
                       uint64_t *tick, rs_err *err)
{
    if (version >= st->epoch_start || snap == NULL)
        return store_version_tick(s, NULL, st, version, tick, err);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(ro, snap);
    rs_code rc = store_version_tick(s, ro, st, version, tick, err);
    rocksdb_readoptions_destroy(ro);
    return rc;
}

/* tick_of for a version the readable range holds: it has a record. */
static rs_code live_tick(rs_store *s, const rocksdb_snapshot_t *snap, const struct store_vstate *st,
                         uint64_t version, uint64_t *tick, rs_err *err)
{
    rs_code rc = tick_of(s, snap, st, version, tick, err);
    if (rc == RS_E_NOTFOUND)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': version %" PRIu64 " has no record", s->path, version);
    return rc;
}

rs_code store_get_as_of(rs_store *s, const rocksdb_snapshot_t *snap, const struct store_vstate *st,
                        uint64_t version, const uint8_t *key, size_t key_len, rs_store_value *val, uint64_t *kept_at,
                        rs_err *err)
{
    uint64_t tick = 0;
    if (kept_at != NULL)
        *kept_at = 0;
    if (version >= st->earliest) {
        rs_code rc = live_tick(s, snap, st, version, &tick, err);
        return rc != RS_OK ? rc : get_state(s, snap, tick, key, key_len, val, err);
    }
    uint8_t *hkey = malloc(store_hkey_max(key_len));
    if (hkey == NULL)
        return rs_err_set(err, RS_E_NOMEM, "read at version %" PRIu64 ": out of memory", version);
    size_t hlen = 0;
    rs_code rc = first_kept(s, snap, version, st->earliest, key, key_len, hkey, &hlen, err);
    if (rc == RS_OK && hlen == 0) { /* unchanged since the version: as of earliest */
        rc = live_tick(s, snap, st, st->earliest, &tick, err);
        if (rc == RS_OK)
            rc = get_state(s, snap, tick, key, key_len, val, err);
    } else if (rc == RS_OK) {
        if (kept_at != NULL)
            *kept_at = store_get_be64(hkey + hlen - 8);
        rc = get_kept_entry(s, snap, hkey, hlen, val, err);
    }
    free(hkey);
    return rc;
}

rs_code rs_store_get_at(rs_store *s, uint64_t version, const uint8_t *key, size_t key_len, rs_store_value *val,
                        rs_err *err)
{
    struct vread r;
    rs_code rc = vread_begin(s, version, "read at", &r, err);
    if (rc == RS_OK)
        rc = store_get_as_of(s, r.snap, &r.st, version, key, key_len, val, NULL, err);
    vread_end(&r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Scans of a kept version: the state at earliest merged with the kept */
/* family, key by key                                                  */
/* ------------------------------------------------------------------ */

struct kcursor {                 /* walks the kept family one user key at a time */
    rocksdb_iterator_t *it;
    int                 reverse;
    uint8_t            *ukey;    /* the current user key (owned) */
    size_t              ukey_len, ukey_cap;
    uint8_t            *buf;     /* scratch for kept keys */
    size_t              buf_cap;
    int                 valid;   /* a current user key */
    int                 kept;    /* it has an entry for the version */
    int                 present; /* ...and it existed then */
    const uint8_t      *val;     /* its value then (in the iterator) */
    size_t              val_len;
    int                 corrupt;
};

/* The iterator stands on some entry of a user key: take the key, then
 * find its entry for the version: the first at or after it, below
 * earliest. */
static int kcursor_load(struct kcursor *c, const struct vread *r)
{
    c->valid = rocksdb_iter_valid(c->it);
    if (!c->valid)
        return 0;
    size_t hlen = 0;
    const uint8_t *hk = (const uint8_t *)rocksdb_iter_key(c->it, &hlen);
    uint64_t v = 0;
    if (store_buf_grow(&c->ukey, &c->ukey_cap, hlen) != 0 ||
        store_buf_grow(&c->buf, &c->buf_cap, 2 * hlen + STORE_HKEY_OVERHEAD) != 0)
        return -1;
    if (store_hkey_decode(hk, hlen, c->ukey, &c->ukey_len, &v) != 0) {
        c->corrupt = 1;
        return -1;
    }
    size_t slen = store_hkey_encode(c->ukey, c->ukey_len, r->version, c->buf);
    rocksdb_iter_seek(c->it, (const char *)c->buf, slen);
    c->kept = 0;
    if (!rocksdb_iter_valid(c->it))
        return 0;
    hk = (const uint8_t *)rocksdb_iter_key(c->it, &hlen);
    size_t plen = slen - 8;
    if (hlen != slen || memcmp(hk, c->buf, plen) != 0 || store_get_be64(hk + plen) >= r->st.earliest)
        return 0;
    size_t vlen = 0;
    const uint8_t *p = (const uint8_t *)rocksdb_iter_value(c->it, &vlen);
    if (vlen == 0 || !tag_ok(p[0])) {
        c->corrupt = 1;
        return -1;
    }
    c->kept = 1;
    c->present = (p[0] & STORE_HIST_PRESENT) != 0;
    c->val = p + 1;
    c->val_len = vlen - 1;
    return 0;
}

/* Moves to the next user key (the previous one when reversed). */
static int kcursor_step(struct kcursor *c, const struct vread *r)
{
    size_t plen = store_hkey_bound(c->ukey, c->ukey_len, c->buf);
    if (c->reverse) {
        size_t len = store_hkey_encode(c->ukey, c->ukey_len, 0, c->buf);
        rocksdb_iter_seek_for_prev(c->it, (const char *)c->buf, len);
    } else {
        c->buf[plen] = 0x00;
        c->buf[plen + 1] = 0x02; /* just past every (key, version) */
        rocksdb_iter_seek(c->it, (const char *)c->buf, plen + 2);
    }
    return kcursor_load(c, r);
}

struct merge {
    struct vread        *r;
    rs_store_iter       *base;     /* the state at earliest */
    struct kcursor       k;
    const uint8_t       *bk, *bv;  /* the current base pair, or bk NULL */
    size_t               bk_len, bv_len;
    uint64_t             limit, emitted;
    rs_store_scan_fn     fn;
    void                *arg;
    int                  stop;
};

static void base_next(struct merge *m)
{
    if (!rs_store_iter_next(m->base, &m->bk, &m->bk_len, &m->bv, &m->bv_len))
        m->bk = NULL;
}

static void emit(struct merge *m, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    m->emitted++;
    if (m->fn(m->arg, k, klen, v, vlen) != 0 || (m->limit != 0 && m->emitted >= m->limit))
        m->stop = 1;
}

/* One step: the smaller key (larger when reversed) of the two sides. A key
 * the kept family has an entry for takes its value from there; any other
 * key is as it is at earliest. */
static int merge_step(struct merge *m)
{
    struct kcursor *k = &m->k;
    int order = 0;
    if (m->bk == NULL)
        order = 1;
    else if (!k->valid)
        order = -1;
    else
        order = store_key_cmp(m->bk, m->bk_len, k->ukey, k->ukey_len) * (k->reverse ? -1 : 1);
    if (order < 0) {
        emit(m, m->bk, m->bk_len, m->bv, m->bv_len);
        base_next(m);
        return 0;
    }
    if (k->kept && k->present)
        emit(m, k->ukey, k->ukey_len, k->val, k->val_len);
    else if (!k->kept && order == 0)
        emit(m, m->bk, m->bk_len, m->bv, m->bv_len);
    if (order == 0)
        base_next(m);
    return m->stop ? 0 : kcursor_step(k, m->r);
}

static rs_code merge_open(struct merge *m, const rs_store_range *range, uint8_t **kb, rs_err *err)
{
    rs_store *s = m->r->s;
    rs_store_range all = range != NULL ? *range : (rs_store_range){0};
    all.limit = 0; /* the limit counts merged pairs */
    uint64_t tick = 0;
    rs_code rc = live_tick(s, m->r->snap, &m->r->st, m->r->st.earliest, &tick, err);
    if (rc == RS_OK)
        rc = store_iter_open_at(s, m->r->snap, tick, &all, &m->base, err);
    if (rc != RS_OK)
        return rc;
    uint8_t *lo = NULL, *hi = NULL;
    size_t lo_len = 0, hi_len = 0;
    int bad = store_range_bounds(&all, &lo, &lo_len, &hi, &hi_len);
    if (!bad && lo != NULL && (kb[0] = malloc(2 * lo_len + 1)) != NULL)
        lo_len = store_hkey_bound(lo, lo_len, kb[0]);
    if (!bad && hi != NULL && (kb[1] = malloc(2 * hi_len + 1)) != NULL)
        hi_len = store_hkey_bound(hi, hi_len, kb[1]);
    bad = bad || (lo != NULL && kb[0] == NULL) || (hi != NULL && kb[1] == NULL);
    free(lo);
    free(hi);
    if (bad)
        return rs_err_set(err, RS_E_NOMEM, "scan at version %" PRIu64 ": out of memory", m->r->version);
    /* every kept key of a user key in [lo, hi) lies in [esc(lo), esc(hi)) */
    rocksdb_readoptions_t *ro = m->r->ro;
    if (kb[0] != NULL)
        rocksdb_readoptions_set_iterate_lower_bound(ro, (const char *)kb[0], lo_len);
    if (kb[1] != NULL)
        rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)kb[1], hi_len);
    m->k.it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_KEPT]);
    m->k.reverse = all.reverse;
    m->limit = range != NULL ? range->limit : 0;
    return RS_OK;
}

static rs_code merge_status(struct merge *m, rs_err *err)
{
    char *errptr = NULL;
    rocksdb_iter_get_error(m->k.it, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "scan kept versions", m->r->s->path);
    if (m->k.corrupt)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': malformed kept entry", m->r->s->path);
    return rs_store_iter_status(m->base, err);
}

static rs_code scan_kept(struct vread *r, const rs_store_range *range, rs_store_scan_fn fn, void *arg, rs_err *err)
{
    struct merge m = {.r = r, .fn = fn, .arg = arg};
    uint8_t *kb[2] = {NULL, NULL};
    rs_code rc = merge_open(&m, range, kb, err);
    if (rc == RS_OK) {
        if (m.k.reverse)
            rocksdb_iter_seek_to_last(m.k.it);
        else
            rocksdb_iter_seek_to_first(m.k.it);
        int bad = kcursor_load(&m.k, r);
        base_next(&m);
        while (!bad && !m.stop && (m.bk != NULL || m.k.valid))
            bad = merge_step(&m);
        if (bad && !m.k.corrupt)
            rc = rs_err_set(err, RS_E_NOMEM, "scan at version %" PRIu64 ": out of memory", r->version);
        else
            rc = merge_status(&m, err);
    }
    if (m.k.it != NULL)
        rocksdb_iter_destroy(m.k.it);
    rs_store_iter_close(m.base);
    free(m.k.ukey);
    free(m.k.buf);
    free(kb[0]);
    free(kb[1]);
    return rc;
}

rs_code rs_store_scan_at(rs_store *s, uint64_t version, const rs_store_range *range, rs_store_scan_fn fn, void *arg,
                         rs_err *err)
{
    struct vread r;
    rs_code rc = vread_begin(s, version, "scan at", &r, err);
    if (rc == RS_OK && version < r.st.earliest) {
        rc = scan_kept(&r, range, fn, arg, err);
    } else if (rc == RS_OK) {
        rs_store_iter *it = NULL;
        uint64_t tick = 0;
        rc = live_tick(s, r.snap, &r.st, version, &tick, err);
        if (rc == RS_OK)
            rc = store_iter_open_at(s, r.snap, tick, range, &it, err);
        if (rc == RS_OK)
            rc = store_iter_scan(it, fn, arg, err);
    }
    vread_end(&r);
    return rc;
}
