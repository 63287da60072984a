/*
 * Reads as of a version. History holds, for each (key, version), the value
 * the key had before that version wrote it; so the value of a key at H is
 * the one recorded by the first version after H that wrote it, or, if none
 * did, the latest value. Every read runs on one RocksDB snapshot (the
 * latest value and history must agree) and registers its version so that
 * pruning cannot pass it meanwhile (store_floor.c).
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
    int                       kept_held;   /* holds the filter at st.earliest */
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t    *ro;
    struct store_vstate       st;
};

/* A read of a kept version retries its snapshot if pruning moved the
 * compaction filter past it in between; each retry means a prune round
 * finished meanwhile, so few are ever needed. */
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
 * snapshot with the compaction filter held at the snapshot's earliest
 * (store_kept_reader_enter), so nothing above it can vanish. */
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

/* Holds the version, takes the snapshot, and checks the version is
 * readable in it: in [earliest, latest] and not below what pruning has
 * decided, or a version keep-every kept. */
static rs_code vread_begin(rs_store *s, uint64_t version, const char *what, struct vread *r, rs_err *err)
{
    *r = (struct vread){.s = s, .version = version};
    int reg = store_reader_enter(s, version);
    if (reg < 0)
        return rs_err_set(err, RS_E_NOMEM, "%s version %" PRIu64 ": out of memory", what, version);
    r->registered = reg;
    rs_code rc = vread_snapshot(r, err);
    if (rc != RS_OK)
        return rc;
    if (version == 0 || version > r->st.latest)
        return store_version_refuse(err, what, version, &r->st, 0);
    if (version >= r->st.earliest && r->registered)
        return RS_OK;
    return vread_kept(r, what, err);
}

static int tag_ok(uint8_t tag) { return (tag & ~(STORE_HIST_PRESENT | STORE_HIST_KEPT)) == 0; }

/* ------------------------------------------------------------------ */
/* Point reads                                                         */
/* ------------------------------------------------------------------ */

static rs_code get_pinned(struct vread *r, int cf, const uint8_t *key, size_t key_len, rocksdb_pinnableslice_t **out,
                          rs_err *err)
{
    char *errptr = NULL;
    *out = rocksdb_get_pinned_cf(r->s->db, r->ro, r->s->cf[cf], (const char *)key, key_len, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "read at a version", r->s->path);
    return *out == NULL ? RS_E_NOTFOUND : RS_OK;
}

/* The first history key of key after the version, or 0 if no version
 * after it wrote the key. */
static rs_code first_change_after(struct vread *r, const uint8_t *key, size_t key_len, uint8_t *hkey, size_t *hlen,
                                  rs_err *err)
{
    uint8_t *upper = malloc(store_hkey_max(key_len));
    if (upper == NULL)
        return rs_err_set(err, RS_E_NOMEM, "read at version %" PRIu64 ": out of memory", r->version);
    size_t ulen = store_hkey_bound(key, key_len, upper);
    upper[ulen++] = 0x00;
    upper[ulen++] = 0x02; /* just past every (key, version) */
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(ro, r->snap);
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)upper, ulen);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(r->s->db, ro, r->s->cf[STORE_CF_HISTORY]);
    size_t seek_len = store_hkey_encode(key, key_len, r->version + 1, hkey);
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
        return store_err_from(err, errptr, "read history", r->s->path);
    if (bad)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': malformed history key", r->s->path);
    return RS_OK;
}

static rs_code get_from_history(struct vread *r, const uint8_t *hkey, size_t hlen, rs_store_value *val, rs_err *err)
{
    rocksdb_pinnableslice_t *pin = NULL;
    rs_code rc = get_pinned(r, STORE_CF_HISTORY, hkey, hlen, &pin, err);
    if (rc == RS_E_NOTFOUND)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': a history entry vanished under a snapshot",
                          r->s->path);
    if (rc != RS_OK)
        return rc;
    size_t len = 0;
    const uint8_t *p = (const uint8_t *)rocksdb_pinnableslice_value(pin, &len);
    if (len == 0 || !tag_ok(p[0])) {
        rocksdb_pinnableslice_destroy(pin);
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': history entry with a bad tag", r->s->path);
    }
    if ((p[0] & STORE_HIST_PRESENT) == 0) {
        rocksdb_pinnableslice_destroy(pin);
        return RS_E_NOTFOUND;
    }
    *val = (rs_store_value){.data = p + 1, .len = len - 1, .pin = pin};
    return RS_OK;
}

static rs_code get_latest(struct vread *r, const uint8_t *key, size_t key_len, rs_store_value *val, rs_err *err)
{
    rocksdb_pinnableslice_t *pin = NULL;
    rs_code rc = get_pinned(r, STORE_CF_DEFAULT, key, key_len, &pin, err);
    if (rc != RS_OK)
        return rc;
    size_t len = 0;
    const char *p = rocksdb_pinnableslice_value(pin, &len);
    *val = (rs_store_value){.data = (const uint8_t *)p, .len = len, .pin = pin};
    return RS_OK;
}

rs_code rs_store_get_at(rs_store *s, uint64_t version, const uint8_t *key, size_t key_len, rs_store_value *val,
                        rs_err *err)
{
    struct vread r;
    rs_code rc = vread_begin(s, version, "read at", &r, err);
    uint8_t *hkey = NULL;
    size_t hlen = 0;
    if (rc == RS_OK && version < r.st.latest) {
        if ((hkey = malloc(store_hkey_max(key_len))) == NULL)
            rc = rs_err_set(err, RS_E_NOMEM, "read at version %" PRIu64 ": out of memory", version);
        else
            rc = first_change_after(&r, key, key_len, hkey, &hlen, err);
    }
    if (rc == RS_OK)
        rc = hlen > 0 ? get_from_history(&r, hkey, hlen, val, err) : get_latest(&r, key, key_len, val, err);
    free(hkey);
    vread_end(&r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Scans: the latest pairs merged with history, key by key             */
/* ------------------------------------------------------------------ */

struct hcursor {                 /* walks history one user key at a time */
    rocksdb_iterator_t *it;
    int                 reverse;
    uint8_t            *ukey;    /* the current user key (owned) */
    size_t              ukey_len, ukey_cap;
    uint8_t            *buf;     /* scratch for history keys */
    size_t              buf_cap;
    int                 valid;   /* a current user key */
    int                 changed; /* some version after H wrote it */
    int                 present; /* ...and it existed at H */
    const uint8_t      *val;     /* its value at H (in the iterator) */
    size_t              val_len;
    int                 corrupt;
};

static int grow(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *n = realloc(*p, need);
    if (n == NULL)
        return -1;
    *p = n;
    *cap = need;
    return 0;
}

/* The iterator stands on some entry of a user key: take the key, then
 * find its first change after the version. */
static int hcursor_load(struct hcursor *c, uint64_t version)
{
    c->valid = rocksdb_iter_valid(c->it);
    if (!c->valid)
        return 0;
    size_t hlen = 0;
    const uint8_t *hk = (const uint8_t *)rocksdb_iter_key(c->it, &hlen);
    uint64_t v = 0;
    if (grow(&c->ukey, &c->ukey_cap, hlen) != 0 || grow(&c->buf, &c->buf_cap, 2 * hlen + STORE_HKEY_OVERHEAD) != 0)
        return -1;
    if (store_hkey_decode(hk, hlen, c->ukey, &c->ukey_len, &v) != 0) {
        c->corrupt = 1;
        return -1;
    }
    size_t slen = store_hkey_encode(c->ukey, c->ukey_len, version + 1, c->buf);
    rocksdb_iter_seek(c->it, (const char *)c->buf, slen);
    c->changed = 0;
    if (!rocksdb_iter_valid(c->it))
        return 0;
    hk = (const uint8_t *)rocksdb_iter_key(c->it, &hlen);
    size_t plen = slen - 8;
    if (hlen != slen || memcmp(hk, c->buf, plen) != 0)
        return 0;
    size_t vlen = 0;
    const uint8_t *p = (const uint8_t *)rocksdb_iter_value(c->it, &vlen);
    if (vlen == 0 || !tag_ok(p[0])) {
        c->corrupt = 1;
        return -1;
    }
    c->changed = 1;
    c->present = (p[0] & STORE_HIST_PRESENT) != 0;
    c->val = p + 1;
    c->val_len = vlen - 1;
    return 0;
}

/* Moves to the next user key (the previous one when reversed). */
static int hcursor_step(struct hcursor *c, uint64_t version)
{
    size_t plen = store_hkey_bound(c->ukey, c->ukey_len, c->buf);
    if (c->reverse) {
        size_t len = store_hkey_encode(c->ukey, c->ukey_len, 0, c->buf);
        rocksdb_iter_seek_for_prev(c->it, (const char *)c->buf, len);
    } else {
        c->buf[plen] = 0x00;
        c->buf[plen + 1] = 0x02;
        rocksdb_iter_seek(c->it, (const char *)c->buf, plen + 2);
    }
    return hcursor_load(c, version);
}

struct merge {
    struct vread        *r;
    rs_store_iter       *latest;
    struct hcursor       h;
    const uint8_t       *lk, *lv;  /* the current latest pair, or lk NULL */
    size_t               lk_len, lv_len;
    uint64_t             limit, emitted;
    rs_store_scan_fn     fn;
    void                *arg;
    int                  stop;
};

static void latest_next(struct merge *m)
{
    if (!rs_store_iter_next(m->latest, &m->lk, &m->lk_len, &m->lv, &m->lv_len))
        m->lk = NULL;
}

static void emit(struct merge *m, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    m->emitted++;
    if (m->fn(m->arg, k, klen, v, vlen) != 0 || (m->limit != 0 && m->emitted >= m->limit))
        m->stop = 1;
}

/* One step: the smaller key (larger when reversed) of the two sides. A key
 * history knows that some version after H wrote takes its value from
 * history; any other key is as it is now. */
static int merge_step(struct merge *m)
{
    struct hcursor *h = &m->h;
    int order = 0;
    if (m->lk == NULL)
        order = 1;
    else if (!h->valid)
        order = -1;
    else
        order = store_key_cmp(m->lk, m->lk_len, h->ukey, h->ukey_len) * (h->reverse ? -1 : 1);
    if (order < 0) {
        emit(m, m->lk, m->lk_len, m->lv, m->lv_len);
        latest_next(m);
        return 0;
    }
    if (h->changed && h->present)
        emit(m, h->ukey, h->ukey_len, h->val, h->val_len);
    else if (!h->changed && order == 0)
        emit(m, m->lk, m->lk_len, m->lv, m->lv_len);
    if (order == 0)
        latest_next(m);
    return m->stop ? 0 : hcursor_step(h, m->r->version);
}

static rs_code merge_open(struct merge *m, const rs_store_range *range, rs_store_view *view, uint8_t **hb,
                          rs_err *err)
{
    rs_store *s = m->r->s;
    rs_store_range all = range != NULL ? *range : (rs_store_range){0};
    all.limit = 0; /* the limit counts merged pairs */
    rs_code rc = rs_store_iter_open(s, view, &all, &m->latest, err);
    if (rc != RS_OK)
        return rc;
    uint8_t *lo = NULL, *hi = NULL;
    size_t lo_len = 0, hi_len = 0;
    int bad = store_range_bounds(&all, &lo, &lo_len, &hi, &hi_len);
    if (!bad && lo != NULL && (hb[0] = malloc(2 * lo_len + 1)) != NULL)
        lo_len = store_hkey_bound(lo, lo_len, hb[0]);
    if (!bad && hi != NULL && (hb[1] = malloc(2 * hi_len + 1)) != NULL)
        hi_len = store_hkey_bound(hi, hi_len, hb[1]);
    bad = bad || (lo != NULL && hb[0] == NULL) || (hi != NULL && hb[1] == NULL);
    free(lo);
    free(hi);
    if (bad)
        return rs_err_set(err, RS_E_NOMEM, "scan at version %" PRIu64 ": out of memory", m->r->version);
    /* every history key of a user key in [lo, hi) lies in [esc(lo), esc(hi)) */
    rocksdb_readoptions_t *ro = m->r->ro;
    if (hb[0] != NULL)
        rocksdb_readoptions_set_iterate_lower_bound(ro, (const char *)hb[0], lo_len);
    if (hb[1] != NULL)
        rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hb[1], hi_len);
    m->h.it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_HISTORY]);
    m->h.reverse = all.reverse;
    m->limit = range != NULL ? range->limit : 0;
    return RS_OK;
}

static rs_code merge_status(struct merge *m, rs_err *err)
{
    char *errptr = NULL;
    rocksdb_iter_get_error(m->h.it, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "scan history", m->r->s->path);
    if (m->h.corrupt)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': malformed history entry", m->r->s->path);
    return rs_store_iter_status(m->latest, err);
}

static rs_code scan_merged(struct vread *r, const rs_store_range *range, rs_store_scan_fn fn, void *arg,
                           rs_store_view *view, rs_err *err)
{
    struct merge m = {.r = r, .fn = fn, .arg = arg};
    uint8_t *hb[2] = {NULL, NULL};
    rs_code rc = merge_open(&m, range, view, hb, err);
    if (rc == RS_OK) {
        if (m.h.reverse)
            rocksdb_iter_seek_to_last(m.h.it);
        else
            rocksdb_iter_seek_to_first(m.h.it);
        int bad = hcursor_load(&m.h, r->version);
        latest_next(&m);
        while (!bad && !m.stop && (m.lk != NULL || m.h.valid))
            bad = merge_step(&m);
        if (bad && !m.h.corrupt)
            rc = rs_err_set(err, RS_E_NOMEM, "scan at version %" PRIu64 ": out of memory", r->version);
        else
            rc = merge_status(&m, err);
    }
    if (m.h.it != NULL)
        rocksdb_iter_destroy(m.h.it);
    rs_store_iter_close(m.latest);
    free(m.h.ukey);
    free(m.h.buf);
    free(hb[0]);
    free(hb[1]);
    return rc;
}

rs_code rs_store_scan_at(rs_store *s, uint64_t version, const rs_store_range *range, rs_store_scan_fn fn, void *arg,
                         rs_err *err)
{
    struct vread r;
    rs_code rc = vread_begin(s, version, "scan at", &r, err);
    if (rc == RS_OK) {
        rs_store_view view = {.store = s, .snap = r.snap, .read_opts = r.ro};
        rc = version == r.st.latest ? rs_store_scan(s, &view, range, fn, arg, err)
                                    : scan_merged(&r, range, fn, arg, &view, err);
    }
    vread_end(&r);
    return rc;
}
