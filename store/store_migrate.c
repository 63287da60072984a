/*
 * Converting versioned state from layout 1 (the latest state in the
 * default family, and in rs_history, for each (key, version), the value the
 * key had before that version wrote it) to layout 2 (every value at the
 * version that wrote it, in rs_state; the values keep-every kept versions
 * need, in rs_kept). It runs when a database of layout 1 is opened for
 * writing, before anything reads it; read-only, such a database opens as
 * layout 1, and only its reads at a version are refused, with how to
 * convert it.
 *
 * Crash-safe and resumable: the conversion is written in batches, each
 * carrying a progress record (how far it got), and a key's entries are the
 * same whichever batch writes them, so a conversion killed at any point
 * goes on from its last batch at the next open. The last batch writes the
 * versions record in layout 2's format and removes the progress record;
 * then the history family is dropped (and dropped at the next open if a
 * crash came first). The default family's keys are left to the next commit
 * to remove, as the keys a first commit adopts are.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"
#include "store/store_int.h"

/* A batch of the conversion holds about this much. */
#define BATCH_BYTES (4u << 20)

/* How often progress is logged. */
#define LOG_EVERY_NS (5ull * 1000000000u)

/* The progress record in rs_meta: u8 format (1), u8 done (the key is
 * converted whole), u64 version (big-endian: the key's history entries up
 * to it are converted), then the user key. */
const char STORE_META_MIGRATE[] = "migrate";
#define PROGRESS_FORMAT 1
#define PROGRESS_HEAD 10

/* Layout 1's history value tags (docs/format.md, "Layout 1"). */
#define HIST_PRESENT 0x01u
#define HIST_KEPT 0x80u

struct progress {
    int      found, done;
    uint64_t version;
    uint8_t *key;
    size_t   key_len;
};

struct conv {
    rs_store            *s;
    struct store_vstate  st;
    uint64_t            *kept;     /* versions keep-every kept, ascending */
    size_t               n_kept, cap_kept;
    rocksdb_iterator_t  *latest;   /* the default family */
    rocksdb_iterator_t  *hist;     /* rs_history */
    rocksdb_writebatch_t *wb;
    uint8_t             *ukey;     /* the key being converted */
    size_t               ukey_len, ukey_cap;
    uint8_t             *hkey;     /* scratch: a history key decoded or encoded */
    size_t               hkey_cap;
    uint64_t             prev;     /* the key's last history entry converted */
    uint64_t             n_keys, n_entries, total_records, last_log_ns, start_ns;
    rs_err              *err;
};

rs_code store_layout_refuse(rs_store *s, rs_err *err)
{
    rs_err_set(err, RS_E_VERSION,
               "database '%s' holds versioned state in layout 1 (history of overwritten values), whose versions "
               "this rockstream reads only once converted to layout 2",
               s->path);
    rs_err_hint(err, "convert it (crash-safe, resumable): rockstream migrate --db DIR, or open it for writing once");
    return RS_E_VERSION;
}

/* ---- the progress record ---------------------------------------------- */

static rs_code progress_read(struct conv *c, struct progress *p)
{
    rs_store *s = c->s;
    *p = (struct progress){0};
    char *errptr = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(s->db, s->read_opts, s->cf[STORE_CF_META], STORE_META_MIGRATE,
                             sizeof STORE_META_MIGRATE - 1, &len, &errptr);
    if (errptr != NULL)
        return store_err_from(c->err, errptr, "read the conversion's progress", s->path);
    if (v == NULL)
        return RS_OK;
    const uint8_t *b = (const uint8_t *)v;
    if (len < PROGRESS_HEAD || b[0] != PROGRESS_FORMAT || b[1] > 1) {
        rocksdb_free(v);
        return rs_err_set(c->err, RS_E_CORRUPT, "database '%s': the conversion's progress record is malformed",
                          s->path);
    }
    p->key_len = len - PROGRESS_HEAD;
    p->key = malloc(p->key_len == 0 ? 1 : p->key_len);
    if (p->key == NULL) {
        rocksdb_free(v);
        return rs_err_set(c->err, RS_E_NOMEM, "convert '%s': out of memory", s->path);
    }
    memcpy(p->key, b + PROGRESS_HEAD, p->key_len);
    p->found = 1;
    p->done = b[1];
    p->version = store_get_be64(b + 2);
    rocksdb_free(v);
    return RS_OK;
}

static void progress_put(struct conv *c, int done)
{
    uint8_t head[PROGRESS_HEAD] = {PROGRESS_FORMAT, (uint8_t)done};
    store_put_be64(head + 2, done ? 0 : c->prev);
    const char *k[1] = {STORE_META_MIGRATE};
    size_t kl[1] = {sizeof STORE_META_MIGRATE - 1};
    const char *v[2] = {(const char *)head, (const char *)c->ukey};
    size_t vl[2] = {sizeof head, c->ukey_len};
    rocksdb_writebatch_putv_cf(c->wb, c->s->cf[STORE_CF_META], 1, k, kl, 2, v, vl);
}

/* ---- writing ---------------------------------------------------------- */

static void log_progress(struct conv *c, int last)
{
    uint64_t now = rs_clock_mono_ns();
    if (!last && now - c->last_log_ns < LOG_EVERY_NS)
        return;
    c->last_log_ns = now;
    /* records read so far against RocksDB's estimate of both families' */
    double done = (double)(c->n_keys + c->n_entries);
    double pct = c->total_records > 0 && !last ? 100.0 * done / (double)c->total_records : 100.0;
    RS_LOG_INFO("converting versioned state to layout 2 path=%s keys=%" PRIu64 " history_entries=%" PRIu64
                " done=%.0f%% elapsed_s=%.1f%s",
                c->s->path, c->n_keys, c->n_entries, pct > 100.0 ? 100.0 : pct, (double)(now - c->start_ns) / 1e9,
                last ? " finished=1" : "");
}

/* Each batch is fsync'd: the next open resumes from the last one. It goes
 * through the commit path, unchained: a follower of this database is
 * resynced (its data, written by layout 1, differs). */
static rs_code flush(struct conv *c)
{
    if (rocksdb_writebatch_count(c->wb) == 0)
        return RS_OK;
    uint64_t seq = 0;
    rs_code rc = store_commit_batch(c->s, c->wb, !c->s->cfg.in_memory, &seq, c->err);
    rocksdb_writebatch_clear(c->wb);
    if (rc == RS_OK)
        RS_LOG_DEBUG("conversion batch written path=%s keys=%" PRIu64 " seq=%" PRIu64, c->s->path, c->n_keys, seq);
    log_progress(c, 0);
    return rc;
}

static rs_code maybe_flush(struct conv *c, int done)
{
    size_t len = 0;
    rocksdb_writebatch_data(c->wb, &len);
    if (len < BATCH_BYTES)
        return RS_OK;
    progress_put(c, done);
    return flush(c);
}

/* ---- one key ---------------------------------------------------------- */

/* The largest kept version below v, or 0. */
static uint64_t kept_below(const struct conv *c, uint64_t v)
{
    size_t lo = 0, hi = c->n_kept;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->kept[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : c->kept[lo - 1];
}

/* The user key the history iterator stands on, into c->hkey; -1 if it is
 * malformed, 0 if the iterator is done, 1 with *version. */
static int hist_key(struct conv *c, size_t *ukey_len, uint64_t *version)
{
    if (!rocksdb_iter_valid(c->hist))
        return 0;
    size_t hlen = 0;
    const uint8_t *hk = (const uint8_t *)rocksdb_iter_key(c->hist, &hlen);
    if (store_buf_grow(&c->hkey, &c->hkey_cap, hlen) != 0)
        return -1;
    return store_hkey_decode(hk, hlen, c->hkey, ukey_len, version) == 0 ? 1 : -1;
}

/* An entry (key, v) of layout 1 says what the key held before v: the value
 * of the version that wrote the key before (c->prev; 0 for the key's first
 * entry, the state every version starts from). Flagged kept, it is also
 * the value of the kept version just below v. */
static rs_code convert_entry(struct conv *c, uint64_t version)
{
    size_t vlen = 0;
    const uint8_t *val = (const uint8_t *)rocksdb_iter_value(c->hist, &vlen);
    if (vlen == 0 || (val[0] & ~(HIST_PRESENT | HIST_KEPT)) != 0)
        return rs_err_set(c->err, RS_E_CORRUPT, "database '%s': history entry of version %" PRIu64
                          " has a bad tag", c->s->path, version);
    int present = (val[0] & HIST_PRESENT) != 0;
    if (present || c->prev > 0)
        store_state_write(c->s, c->wb, c->ukey, c->ukey_len, c->prev, present ? val + 1 : NULL, vlen - 1);
    uint64_t kept = (val[0] & HIST_KEPT) ? kept_below(c, version) : 0;
    if (kept > 0) {
        if (store_buf_grow(&c->hkey, &c->hkey_cap, store_hkey_max(c->ukey_len)) != 0)
            return rs_err_set(c->err, RS_E_NOMEM, "convert '%s': out of memory", c->s->path);
        size_t hlen = store_hkey_encode(c->ukey, c->ukey_len, kept, c->hkey);
        uint8_t tag = present ? STORE_HIST_PRESENT : 0;
        const char *k[1] = {(const char *)c->hkey};
        const char *v[2] = {(const char *)&tag, (const char *)val + 1};
        size_t vl[2] = {1, present ? vlen - 1 : 0};
        rocksdb_writebatch_putv_cf(c->wb, c->s->cf[STORE_CF_KEPT], 1, k, &hlen, 2, v, vl);
    }
    c->prev = version;
    c->n_entries++;
    return RS_OK;
}

/* The key c->ukey: its history entries, then its latest value, written at
 * the version of its last change. */
static rs_code convert_key(struct conv *c)
{
    rs_code rc = RS_OK;
    size_t ulen = 0;
    uint64_t version = 0;
    int h;
    while (rc == RS_OK && (h = hist_key(c, &ulen, &version)) > 0 &&
           store_key_cmp(c->hkey, ulen, c->ukey, c->ukey_len) == 0) {
        rc = convert_entry(c, version);
        rocksdb_iter_next(c->hist);
        if (rc == RS_OK)
            rc = maybe_flush(c, 0);
    }
    if (rc == RS_OK && h < 0)
        return rs_err_set(c->err, RS_E_CORRUPT, "database '%s': malformed history key", c->s->path);
    size_t klen = 0, vlen = 0;
    const uint8_t *lk = rocksdb_iter_valid(c->latest) ? (const uint8_t *)rocksdb_iter_key(c->latest, &klen) : NULL;
    if (rc == RS_OK && lk != NULL && store_key_cmp(lk, klen, c->ukey, c->ukey_len) == 0) {
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(c->latest, &vlen);
        store_state_write(c->s, c->wb, c->ukey, c->ukey_len, c->prev, v, vlen);
        rocksdb_iter_next(c->latest);
    } else if (rc == RS_OK && c->prev > 0) {
        store_state_write(c->s, c->wb, c->ukey, c->ukey_len, c->prev, NULL, 0); /* deleted since */
    }
    c->n_keys++;
    return rc == RS_OK ? maybe_flush(c, 1) : rc;
}

/* The next key either side holds, the smaller; 0 when both are done. */
static int next_key(struct conv *c)
{
    size_t hlen = 0, llen = 0;
    uint64_t version = 0;
    int h = hist_key(c, &hlen, &version);
    const uint8_t *lk = rocksdb_iter_valid(c->latest) ? (const uint8_t *)rocksdb_iter_key(c->latest, &llen) : NULL;
    if (h < 0 || (h == 0 && lk == NULL))
        return h;
    const uint8_t *k = c->hkey;
    size_t len = hlen;
    if (h == 0 || (lk != NULL && store_key_cmp(lk, llen, c->hkey, hlen) < 0)) {
        k = lk;
        len = llen;
    }
    if (store_buf_grow(&c->ukey, &c->ukey_cap, len == 0 ? 1 : len) != 0)
        return -1;
    memcpy(c->ukey, k, len);
    c->ukey_len = len;
    c->prev = 0;
    return 1;
}

/* ---- the whole conversion --------------------------------------------- */

static int add_kept(void *arg, uint64_t version)
{
    struct conv *c = arg;
    uint64_t *g = rs_array_grow(c->kept, &c->cap_kept, c->n_kept, sizeof *c->kept, 64);
    if (g == NULL)
        return 1;
    c->kept = g;
    c->kept[c->n_kept++] = version;
    return 0;
}

/* Both iterators where the progress record says; c->ukey then holds a
 * key part-converted (returns 1) or none (0). */
static int resume(struct conv *c, const struct progress *p)
{
    if (!p->found) {
        rocksdb_iter_seek_to_first(c->latest);
        rocksdb_iter_seek_to_first(c->hist);
        return 0;
    }
    rocksdb_iter_seek(c->latest, (const char *)p->key, p->key_len);
    size_t klen = 0;
    if (p->done && rocksdb_iter_valid(c->latest) &&
        store_key_cmp((const uint8_t *)rocksdb_iter_key(c->latest, &klen), klen, p->key, p->key_len) == 0)
        rocksdb_iter_next(c->latest);
    if (store_buf_grow(&c->hkey, &c->hkey_cap, store_hkey_max(p->key_len)) != 0 ||
        store_buf_grow(&c->ukey, &c->ukey_cap, p->key_len == 0 ? 1 : p->key_len) != 0)
        return -1;
    size_t hlen = store_hkey_bound(p->key, p->key_len, c->hkey);
    c->hkey[hlen++] = 0x00;
    c->hkey[hlen++] = p->done ? 0x02 : 0x01; /* past the key, or at its next entry */
    if (!p->done) {
        store_put_be64(c->hkey + hlen, p->version + 1);
        hlen += 8;
    }
    rocksdb_iter_seek(c->hist, (const char *)c->hkey, hlen);
    memcpy(c->ukey, p->key, p->key_len);
    c->ukey_len = p->key_len;
    c->prev = p->version;
    return !p->done;
}

/* RocksDB's estimate: good enough for a percentage. */
static uint64_t estimate_records(rs_store *s)
{
    uint64_t a = 0, b = 0;
    if (rocksdb_property_int_cf(s->db, s->cf[STORE_CF_DEFAULT], "rocksdb.estimate-num-keys", &a) != 0)
        a = 0;
    if (rocksdb_property_int_cf(s->db, s->cf[STORE_CF_HISTORY], "rocksdb.estimate-num-keys", &b) != 0)
        b = 0;
    return a + b;
}

static rs_code convert(struct conv *c)
{
    rs_store *s = c->s;
    struct progress p;
    rs_code rc = store_kept_scan(s, c->st.earliest, add_kept, c, c->err);
    if (rc == RS_OK)
        rc = progress_read(c, &p);
    if (rc != RS_OK)
        return rc;
    c->latest = rocksdb_create_iterator_cf(s->db, s->read_opts, s->cf[STORE_CF_DEFAULT]);
    c->hist = rocksdb_create_iterator_cf(s->db, s->read_opts, s->cf[STORE_CF_HISTORY]);
    c->wb = rocksdb_writebatch_create();
    c->start_ns = c->last_log_ns = rs_clock_mono_ns();
    c->total_records = estimate_records(s);
    RS_LOG_INFO("converting versioned state to layout 2 path=%s latest=%" PRIu64 " earliest=%" PRIu64
                " kept_versions=%zu resumed=%d",
                s->path, c->st.latest, c->st.earliest, c->n_kept, p.found);
    int more = resume(c, &p);
    free(p.key);
    if (more < 0)
        return rs_err_set(c->err, RS_E_NOMEM, "convert '%s': out of memory", s->path);
    if (more)
        rc = convert_key(c);
    while (rc == RS_OK && (more = next_key(c)) > 0)
        rc = convert_key(c);
    if (rc == RS_OK && more < 0)
        rc = rs_err_set(c->err, RS_E_CORRUPT, "database '%s': malformed history key", s->path);
    char *errptr = NULL;
    rocksdb_iter_get_error(c->latest, &errptr);
    if (errptr == NULL)
        rocksdb_iter_get_error(c->hist, &errptr);
    if (errptr != NULL)
        return store_err_from(c->err, errptr, "convert: read layout 1", s->path);
    if (rc != RS_OK)
        return rc;
    if ((rc = flush(c)) != RS_OK)
        return rc;
    /* the end: layout 2's versions record, first in its batch as always */
    store_vstate_put(c->wb, s, &c->st);
    rocksdb_writebatch_delete_cf(c->wb, s->cf[STORE_CF_META], STORE_META_MIGRATE, sizeof STORE_META_MIGRATE - 1);
    rc = flush(c);
    if (rc == RS_OK)
        log_progress(c, 1);
    return rc;
}

static void conv_release(struct conv *c)
{
    if (c->latest != NULL)
        rocksdb_iter_destroy(c->latest);
    if (c->hist != NULL)
        rocksdb_iter_destroy(c->hist);
    if (c->wb != NULL)
        rocksdb_writebatch_destroy(c->wb);
    free(c->kept);
    free(c->ukey);
    free(c->hkey);
}

static rs_code drop_history(rs_store *s, rs_err *err)
{
    char *errptr = NULL;
    rocksdb_drop_column_family(s->db, s->cf[STORE_CF_HISTORY], &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "drop the history family of layout 1", s->path);
    rocksdb_column_family_handle_destroy(s->cf[STORE_CF_HISTORY]);
    s->cf[STORE_CF_HISTORY] = NULL;
    return RS_OK;
}

rs_code store_migrate(rs_store *s, rs_err *err)
{
    struct store_vstate st;
    rs_code rc = s->cf[STORE_CF_META] != NULL ? store_vstate_read_any(s, NULL, &st, err) : RS_OK;
    if (rc != RS_OK || s->cf[STORE_CF_META] == NULL)
        return rc;
    int layout1 = st.format == STORE_LAYOUT_HISTORY && st.latest > 0;
    if (s->cfg.read_only) {
        /* nothing may be written: it opens as layout 1, whose latest state,
         * records and content digest read as they always did (an archive
         * of layout 1 unseals and verifies); reads at a version are
         * refused with how to convert it */
        s->v.layout1 = layout1;
        return RS_OK;
    }
    if (s->cf[STORE_CF_HISTORY] == NULL)
        return RS_OK;
    if (layout1) {
        struct conv c = {.s = s, .st = st, .err = err};
        rc = convert(&c);
        conv_release(&c);
        if (rc != RS_OK) {
            rs_err_prefix(err, "convert versioned state to layout 2");
            return rc;
        }
    }
    /* converted, or never versioned (an older rockstream made the family
     * on every open): layout 1's family goes */
    return drop_history(s, err);
}
