/*
 * Versioned commits: a block's write set applied as one version, with its
 * history, its change list, its record and the versions record, in one
 * RocksDB write. Also the versioned state's setup, its records, and what
 * snapshots, WAL frames and followers ask of it. Reads at a version are in
 * store_history.c, pruning in store_prune.c, rollback in store_rollback.c.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/log.h"
#include "store/store_int.h"

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

rs_code store_meta_read(rs_store *s, const rocksdb_readoptions_t *ro, const uint8_t *key, size_t key_len,
                        uint8_t *out, size_t cap, size_t *len, const char *what, rs_err *err)
{
    if (s->cf[STORE_CF_META] == NULL)
        return RS_E_NOTFOUND; /* read-only, made by plain RocksDB */
    char *errptr = NULL;
    char *val = rocksdb_get_cf(s->db, ro != NULL ? ro : s->read_opts, s->cf[STORE_CF_META], (const char *)key,
                               key_len, len, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, what, s->path);
    if (val == NULL)
        return RS_E_NOTFOUND;
    memcpy(out, val, *len < cap ? *len : cap);
    rocksdb_free(val);
    return RS_OK;
}

rs_code store_vstate_read_any(rs_store *s, const rocksdb_readoptions_t *ro, struct store_vstate *st, rs_err *err)
{
    uint8_t buf[STORE_VSTATE_BYTES];
    size_t len = 0;
    memset(st, 0, sizeof *st);
    rs_code rc = store_meta_read(s, ro, (const uint8_t *)STORE_META_VSTATE, STORE_META_VSTATE_LEN, buf, sizeof buf,
                                 &len, "read the versions record", err);
    if (rc == RS_E_NOTFOUND) {
        /* nothing committed: nothing to convert; version 1 takes tick 1 */
        *st = (struct store_vstate){.format = STORE_LAYOUT_STATE, .epoch_start = 1};
        return RS_OK;
    }
    if (rc == RS_OK && store_vstate_decode(buf, len, st) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': versions record is malformed (%zu bytes)", s->path,
                          len);
    return rc;
}

rs_code store_vstate_read(rs_store *s, const rocksdb_readoptions_t *ro, struct store_vstate *st, rs_err *err)
{
    rs_code rc = store_vstate_read_any(s, ro, st, err);
    /* a read-only open of layout 1 reads its records (they are alike), not
     * its versions (store_history.c refuses those) */
    if (rc == RS_OK && st->format != STORE_LAYOUT_STATE && !s->v.layout1)
        return store_layout_refuse(s, err);
    return rc;
}

rs_code store_vrecord_read(rs_store *s, const rocksdb_readoptions_t *ro, uint64_t version, struct store_vrecord *r,
                           rs_err *err)
{
    uint8_t key[STORE_VRECORD_KEY_BYTES], buf[STORE_VRECORD_BYTES];
    size_t len = 0;
    store_vrecord_key(version, key);
    rs_code rc = store_meta_read(s, ro, key, sizeof key, buf, sizeof buf, &len, "read a version record", err);
    if (rc == RS_OK && store_vrecord_decode(buf, len, version, r) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': record of version %" PRIu64 " is malformed", s->path,
                          version);
    return rc;
}

rs_code store_version_tick(rs_store *s, const rocksdb_readoptions_t *ro, const struct store_vstate *st,
                           uint64_t version, uint64_t *tick, rs_err *err)
{
    if (version >= st->epoch_start) {
        *tick = version + st->delta;
        return RS_OK;
    }
    struct store_vrecord r;
    rs_code rc = store_vrecord_read(s, ro, version, &r, err);
    if (rc == RS_OK)
        *tick = r.tick;
    return rc;
}

rs_code store_changes_each(rs_store *s, uint64_t first, uint64_t last, store_change_fn fn, void *arg, rs_err *err)
{
    uint8_t lo[8], hi[9];
    store_put_be64(lo, first);
    store_put_be64(hi, last);
    hi[8] = 0x00; /* just past version last */
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, sizeof hi);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_CHANGES]);
    int stop = 0, bad = 0;
    for (rocksdb_iter_seek(it, (const char *)lo, sizeof lo); !stop && !bad && rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        bad = klen != 8;
        struct store_clist cl = {v, v + vlen};
        const uint8_t *key = NULL;
        size_t key_len = 0;
        int more = 0;
        while (!bad && !stop && (more = store_clist_next(&cl, &key, &key_len)) > 0)
            stop = fn(arg, store_get_be64(k), key, key_len);
        bad = bad || more < 0;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (errptr != NULL)
        return store_err_from(err, errptr, "read change lists", s->path);
    if (bad)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': malformed change list", s->path);
    return stop < 0 ? (err != NULL && err->code != RS_OK ? err->code : RS_E_NOMEM) : RS_OK;
}

rs_code store_version_refuse(rs_err *err, const char *what, uint64_t version, const struct store_vstate *st,
                             uint64_t pending_earliest)
{
    uint64_t earliest = st->earliest > pending_earliest ? st->earliest : pending_earliest;
    if (st->latest == 0)
        return rs_err_set(err, RS_E_NOTFOUND, "%s version %" PRIu64 ": no version has been committed", what,
                          version);
    if (version > st->latest)
        rs_err_set(err, RS_E_NOTFOUND,
                   "%s version %" PRIu64 ": not committed yet; readable versions are [%" PRIu64 ", %" PRIu64 "]",
                   what, version, earliest, st->latest);
    else
        rs_err_set(err, RS_E_NOTFOUND,
                   "%s version %" PRIu64 ": pruned; readable versions are [%" PRIu64 ", %" PRIu64 "]", what,
                   version, earliest, st->latest);
    rs_err_hint(err, "rockstream versions --db DIR lists the readable range and the versions keep-every kept");
    return RS_E_NOTFOUND;
}

/* ------------------------------------------------------------------ */
/* The write set                                                       */
/* ------------------------------------------------------------------ */

struct wop {
    struct store_keyed k; /* n: position in the batch: the last write wins */
    const uint8_t     *val;
    size_t             val_len;
    uint8_t            del;
};

struct wset {
    struct wop *ops;
    size_t      n, cap;
};

static void collect(struct wset *ws, const char *k, size_t klen, const char *v, size_t vlen, int del)
{
    /* cap is the batch's own count: a write past it would be dropped */
    rs_assert(ws->n < ws->cap);
    ws->ops[ws->n] = (struct wop){{(const uint8_t *)k, klen, ws->n}, (const uint8_t *)v, vlen, (uint8_t)del};
    ws->n++;
}

static void collect_put(void *arg, const char *k, size_t klen, const char *v, size_t vlen)
{
    collect(arg, k, klen, v, vlen, 0);
}

static void collect_del(void *arg, const char *k, size_t klen) { collect(arg, k, klen, NULL, 0, 1); }

/* The batch's effect: one write per key, the batch's last, in key order.
 * The ops point into the batch, which the caller keeps unchanged. */
static rs_code write_set(const rs_store_batch *b, struct wset *ws, rs_err *err)
{
    ws->cap = (size_t)rocksdb_writebatch_count(b->wb);
    ws->n = 0;
    ws->ops = malloc((ws->cap == 0 ? 1 : ws->cap) * sizeof *ws->ops);
    if (ws->ops == NULL)
        return rs_err_set(err, RS_E_NOMEM, "commit: out of memory for a write set of %zu writes", ws->cap);
    rocksdb_writebatch_iterate((rocksdb_writebatch_t *)b->wb, ws, collect_put, collect_del);
    qsort(ws->ops, ws->n, sizeof *ws->ops, store_keyed_cmp);
    size_t out = 0;
    for (size_t i = 0; i < ws->n; i++) {
        if (i + 1 < ws->n && store_key_cmp(ws->ops[i].k.key, ws->ops[i].k.key_len, ws->ops[i + 1].k.key,
                                           ws->ops[i + 1].k.key_len) == 0)
            continue; /* a later write of the same key wins */
        ws->ops[out++] = ws->ops[i];
    }
    ws->n = out;
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* The commit digest (docs/format.md, "Commit digest")                 */
/* ------------------------------------------------------------------ */

static const uint8_t DIGEST_DOMAIN[9] = {'R', 'S', 'C', 'O', 'M', 'M', 'I', 'T', 1};

static void digest_bytes(crypto_generichash_state *h, const uint8_t *p, size_t len)
{
    uint8_t n[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    crypto_generichash_update(h, n, sizeof n);
    crypto_generichash_update(h, p, len);
}

static void digest_write_set(uint64_t version, const uint8_t prev[STORE_DIGEST_BYTES], const struct wset *ws,
                             uint8_t out[STORE_DIGEST_BYTES])
{
    crypto_generichash_state h;
    uint8_t be[8];
    crypto_generichash_init(&h, NULL, 0, STORE_DIGEST_BYTES);
    crypto_generichash_update(&h, DIGEST_DOMAIN, sizeof DIGEST_DOMAIN);
    store_put_be64(be, version);
    crypto_generichash_update(&h, be, sizeof be);
    crypto_generichash_update(&h, prev, STORE_DIGEST_BYTES);
    store_put_be64(be, ws->n);
    crypto_generichash_update(&h, be, sizeof be);
    for (size_t i = 0; i < ws->n; i++) {
        const struct wop *op = &ws->ops[i];
        uint8_t kind = op->del ? 0 : 1;
        crypto_generichash_update(&h, &kind, 1);
        digest_bytes(&h, op->k.key, op->k.key_len);
        if (!op->del)
            digest_bytes(&h, op->val, op->val_len);
    }
    crypto_generichash_final(&h, out, STORE_DIGEST_BYTES);
}

/* ------------------------------------------------------------------ */
/* Commit                                                              */
/* ------------------------------------------------------------------ */

/* The first commit takes the keys written before it (plain writes, while
 * the database was not versioned) into the state family as version 0, in
 * its own batch; past this they are too many for one batch. */
#define ADOPT_MAX_BYTES (256ull << 20)

struct commit {
    rs_store             *s;
    uint64_t              version;
    uint64_t              tick;    /* its timestamp in the state family */
    struct store_vstate   st;      /* before */
    struct wset           ws;
    rocksdb_writebatch_t *wb;
    struct store_vrecord  rec;
    int                   cleaned; /* the batch empties the default family */
};

/* The change list: every written key, in order, each length-prefixed. */
static rs_code put_change_list(struct commit *c, rs_err *err)
{
    size_t cap = 0;
    for (size_t i = 0; i < c->ws.n; i++)
        cap += c->ws.ops[i].k.key_len + 10;
    uint8_t *buf = malloc(cap == 0 ? 1 : cap);
    if (buf == NULL)
        return rs_err_set(err, RS_E_NOMEM, "commit of version %" PRIu64 ": out of memory", c->version);
    size_t len = 0;
    for (size_t i = 0; i < c->ws.n; i++) {
        len += store_varint_put(buf + len, c->ws.ops[i].k.key_len);
        memcpy(buf + len, c->ws.ops[i].k.key, c->ws.ops[i].k.key_len);
        len += c->ws.ops[i].k.key_len;
    }
    uint8_t key[8];
    store_put_be64(key, c->version);
    rocksdb_writebatch_put_cf(c->wb, c->s->cf[STORE_CF_CHANGES], (const char *)key, sizeof key, (const char *)buf,
                              len);
    c->rec.history_bytes += sizeof key + len;
    free(buf);
    return RS_OK;
}

/* One insert per written key, at the version. */
static void put_writes(struct commit *c)
{
    for (size_t i = 0; i < c->ws.n; i++) {
        const struct wop *op = &c->ws.ops[i];
        store_state_write(c->s, c->wb, op->k.key, op->k.key_len, c->tick, op->del ? NULL : op->val, op->val_len);
        c->rec.history_bytes += op->k.key_len + STORE_TS_BYTES + op->val_len;
    }
}

/* The keys plain writes left in the default family become the state at
 * version 0, the state every version starts from. */
static rs_code adopt_plain_keys(struct commit *c, rs_err *err)
{
    rs_store *s = c->s;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->read_opts, s->cf[STORE_CF_DEFAULT]);
    uint64_t bytes = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && bytes <= ADOPT_MAX_BYTES;
         rocksdb_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        store_state_write(s, c->wb, k, klen, 0, v, vlen);
        bytes += klen + vlen;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    if (errptr != NULL)
        return store_err_from(err, errptr, "commit of version 1: read the keys written before it", s->path);
    if (bytes > ADOPT_MAX_BYTES) {
        rs_err_set(err, RS_E_UNSUPPORTED,
                   "commit of version 1: the database holds more than %llu MiB of keys written before it, more "
                   "than its first commit takes",
                   ADOPT_MAX_BYTES >> 20);
        rs_err_hint(err, "start versioned state on an empty database and commit those keys as version 1");
        return RS_E_UNSUPPORTED;
    }
    c->s->v.default_dirty = bytes > 0;
    return RS_OK;
}

/* The default family's keys were adopted (or converted from layout 1):
 * one range delete removes them, behind the newest key. */
static rs_code clean_default(struct commit *c, rs_err *err)
{
    rs_store *s = c->s;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->read_opts, s->cf[STORE_CF_DEFAULT]);
    rocksdb_iter_seek_to_last(it);
    if (rocksdb_iter_valid(it)) {
        size_t klen = 0;
        const char *k = rocksdb_iter_key(it, &klen);
        char *end = malloc(klen + 1);
        if (end == NULL) {
            rocksdb_iter_destroy(it);
            return rs_err_set(err, RS_E_NOMEM, "commit of version %" PRIu64 ": out of memory", c->version);
        }
        memcpy(end, k, klen);
        end[klen] = 0x00; /* just past the newest key */
        rocksdb_writebatch_delete_range_cf(c->wb, s->cf[STORE_CF_DEFAULT], "", 0, end, klen + 1);
        free(end);
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    if (errptr != NULL)
        return store_err_from(err, errptr, "commit: read the default family", s->path);
    c->cleaned = 1;
    return RS_OK;
}

void store_vstate_put(rocksdb_writebatch_t *wb, rs_store *s, const struct store_vstate *st)
{
    uint8_t buf[STORE_VSTATE_BYTES];
    store_vstate_encode(st, buf);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], STORE_META_VSTATE, STORE_META_VSTATE_LEN,
                              (const char *)buf, sizeof buf);
}

/* The batch, versions record first: rs_store_batch_version reads only the
 * first record of a batch to know what it does to the versions. */
static rs_code build_batch(struct commit *c, rs_err *err)
{
    rs_store *s = c->s;
    struct store_vstate next = c->st;
    next.kind = RS_STORE_VERSION_COMMIT;
    next.latest = c->version;
    next.earliest = c->st.earliest == 0 ? c->version : c->st.earliest;
    c->tick = c->version + c->st.delta; /* the commit extends the current epoch */
    store_vstate_put(c->wb, s, &next);
    rs_code rc = put_change_list(c, err);
    if (rc == RS_OK && c->st.latest == 0)
        rc = adopt_plain_keys(c, err);
    else if (rc == RS_OK && s->v.default_dirty)
        rc = clean_default(c, err);
    if (rc != RS_OK)
        return rc;
    put_writes(c);
    /* the record goes last in the code but its place in the batch does not
     * matter; it needs history_bytes, known only now */
    uint8_t key[STORE_VRECORD_KEY_BYTES], val[STORE_VRECORD_BYTES];
    store_vrecord_key(c->version, key);
    c->rec.n_writes = (uint32_t)c->ws.n;
    c->rec.tick = c->tick;
    /* predicted: write_mu serializes every writer of versioned state, so
     * this batch is the next one; checked after the write */
    c->rec.commit_seq = rocksdb_get_latest_sequence_number(s->db) + 1;
    store_vrecord_encode(&c->rec, val);
    rocksdb_writebatch_put_cf(c->wb, s->cf[STORE_CF_META], (const char *)key, sizeof key, (const char *)val,
                              sizeof val);
    return RS_OK;
}

/* Another write between our prediction and our write would make the
 * record's sequence wrong. Plain writes are refused on a versioned database,
 * so only one of rockstream's meta records (rs_store_meta_put) can do it.
 * RocksDB stamps the batch it wrote with its real sequence, so this can be
 * told, and said, once. */
static void check_commit_seq(struct commit *c)
{
    size_t len = 0;
    const char *rep = rocksdb_writebatch_data(c->wb, &len);
    uint64_t seq = 0;
    for (int i = 7; len >= 8 && i >= 0; i--)
        seq = seq << 8 | (uint8_t)rep[i];
    if (seq == 0 || seq == c->rec.commit_seq || c->s->v.seq_warned)
        return;
    c->s->v.seq_warned = 1;
    RS_LOG_WARN("versioned commit raced another write version=%" PRIu64 " predicted_seq=%" PRIu64
                " actual_seq=%" PRIu64 " why=a meta record was written meanwhile; the version's sequence "
                "record is off",
                c->version, c->rec.commit_seq, seq);
}

static rs_code check_version(struct commit *c, rs_err *err)
{
    uint64_t expected = c->st.latest + 1;
    if (c->version == expected)
        return RS_OK;
    if (c->version == 0)
        rs_err_set(err, RS_E_INVALID, "commit of version 0 refused: versions start at 1; expected version %" PRIu64,
                   expected);
    else
        rs_err_set(err, RS_E_INVALID,
                   "commit of version %" PRIu64 " refused: expected version %" PRIu64
                   " (the latest committed is %" PRIu64 ")",
                   c->version, expected, c->st.latest);
    rs_err_hint(err, "commit heights in order; rs_store_rollback first to replace committed versions");
    return RS_E_INVALID;
}

/* Under write_mu: everything that needs the state as it is. */
static rs_code commit_locked(struct commit *c, uint64_t *seq, rs_err *err)
{
    rs_store *s = c->s;
    rs_code rc = store_vstate_read(s, NULL, &c->st, err);
    if (rc == RS_OK)
        rc = check_version(c, err);
    if (rc != RS_OK)
        return rc;
    uint8_t prev[STORE_DIGEST_BYTES] = {0};
    if (c->st.latest > 0) {
        struct store_vrecord last;
        rc = store_vrecord_read(s, NULL, c->st.latest, &last, err);
        if (rc == RS_E_NOTFOUND)
            return rs_err_set(err, RS_E_CORRUPT, "database '%s': latest version %" PRIu64 " has no record",
                              s->path, c->st.latest);
        if (rc != RS_OK)
            return rc;
        memcpy(prev, last.digest, sizeof prev);
    }
    digest_write_set(c->version, prev, &c->ws, c->rec.digest);
    if ((rc = build_batch(c, err)) != RS_OK)
        return rc;
    if ((rc = store_write_apply(s, c->wb, seq, err)) != RS_OK)
        return rc;
    /* reads of the user's keys go to the state family from here on */
    atomic_store(&s->v.versioned, 1);
    if (c->cleaned)
        s->v.default_dirty = 0;
    check_commit_seq(c);
    return RS_OK;
}

/* After the commit that emptied the default family: its files are dropped
 * now rather than whenever a compaction reaches a family nothing writes. */
static void drop_default_files(rs_store *s)
{
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    rocksdb_compact_range_cf_opt(s->db, s->cf[STORE_CF_DEFAULT], co, NULL, 0, NULL, 0);
    rocksdb_compactoptions_destroy(co);
}

static void commit_release(struct commit *c)
{
    free(c->ws.ops);
    if (c->wb != NULL)
        rocksdb_writebatch_destroy(c->wb);
}

rs_code rs_store_commit(rs_store *s, uint64_t version, const rs_store_batch *b, rs_err *err)
{
    if (s->cfg.read_only)
        return rs_err_set(err, RS_E_UNSUPPORTED, "commit of version %" PRIu64 ": database '%s' is open read-only",
                          version, s->path);
    if (b->has_range_delete) {
        rs_err_set(err, RS_E_UNSUPPORTED,
                   "commit of version %" PRIu64 ": the batch holds a range delete, which versioned state cannot "
                   "keep at a version",
                   version);
        rs_err_hint(err, "delete the keys one by one in a versioned commit");
        return RS_E_UNSUPPORTED;
    }
    struct commit c = {.s = s, .version = version};
    rs_code rc = write_set(b, &c.ws, err);
    if (rc != RS_OK)
        return rc;
    c.wb = rocksdb_writebatch_create();
    uint64_t seq = 0;
    pthread_mutex_lock(&s->v.write_mu);
    rc = commit_locked(&c, &seq, err);
    pthread_mutex_unlock(&s->v.write_mu);
    int cleaned = c.cleaned;
    commit_release(&c);
    /* the wait for durability is outside the lock, so the next commit can
     * be applied while this one's fsync runs (group commit) */
    if (rc == RS_OK)
        rc = store_write_wait(s, seq, err);
    if (rc == RS_OK && cleaned)
        drop_default_files(s);
    if (rc == RS_OK)
        store_pruner_kick(s, version);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

int rs_store_is_versioned(rs_store *s) { return atomic_load(&s->v.versioned) || s->v.layout1; }

uint64_t rs_store_version_latest(rs_store *s)
{
    struct store_vstate st;
    if (store_vstate_read(s, NULL, &st, NULL) != RS_OK)
        return 0;
    return st.latest;
}

rs_code rs_store_version_range(rs_store *s, uint64_t *earliest, uint64_t *latest, rs_err *err)
{
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc != RS_OK)
        return rc;
    uint64_t pend = store_pending_earliest(s);
    /* pruning may have decided more than it has written: reads are already
     * refused below what it decided */
    *earliest = st.latest > 0 && pend > st.earliest ? pend : st.earliest;
    *latest = st.latest;
    return RS_OK;
}

rs_code rs_store_version_info_get(rs_store *s, uint64_t version, rs_store_version_info *out, rs_err *err)
{
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc != RS_OK)
        return rc;
    struct store_vrecord r;
    rc = version == 0 || version > st.latest ? RS_E_NOTFOUND : store_vrecord_read(s, NULL, version, &r, err);
    if (rc == RS_E_NOTFOUND)
        return store_version_refuse(err, "record of", version, &st, 0);
    if (rc != RS_OK)
        return rc;
    *out = (rs_store_version_info){.version = version, .commit_seq = r.commit_seq, .n_writes = r.n_writes,
                                   .history_bytes = r.history_bytes, .kept = version < st.earliest};
    memcpy(out->digest, r.digest, sizeof out->digest);
    return RS_OK;
}

rs_code rs_store_version_kept_scan(rs_store *s, int (*fn)(void *arg, uint64_t version), void *arg, rs_err *err)
{
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc != RS_OK || st.earliest <= 1) /* also: no rs_meta, no versions */
        return rc;
    return store_kept_scan(s, st.earliest, fn, arg, err);
}

rs_code store_kept_scan(rs_store *s, uint64_t earliest, int (*fn)(void *arg, uint64_t version), void *arg,
                        rs_err *err)
{
    uint8_t lo[STORE_VRECORD_KEY_BYTES], hi[STORE_VRECORD_KEY_BYTES];
    store_vrecord_key(0, lo);
    store_vrecord_key(earliest, hi);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, sizeof hi);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_META]);
    for (rocksdb_iter_seek(it, (const char *)lo, sizeof lo); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen = 0;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        if (klen == STORE_VRECORD_KEY_BYTES && fn(arg, store_get_be64(k + 8)) != 0)
            break;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return errptr == NULL ? RS_OK : store_err_from(err, errptr, "list kept versions", s->path);
}

/* Commit sequences grow with versions over the readable range (a rollback
 * deletes the records above its target), so a binary search finds it. */
rs_code rs_store_version_at_seq(rs_store *s, uint64_t seq, uint64_t *version, uint64_t *commit_seq, rs_err *err)
{
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc != RS_OK)
        return rc;
    uint64_t lo = st.earliest, hi = st.latest, found = 0, found_seq = 0;
    while (st.latest > 0 && lo <= hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        struct store_vrecord r;
        rc = store_vrecord_read(s, NULL, mid, &r, err);
        if (rc == RS_E_NOTFOUND)
            return rs_err_set(err, RS_E_CORRUPT, "database '%s': readable version %" PRIu64 " has no record",
                              s->path, mid);
        if (rc != RS_OK)
            return rc;
        if (r.commit_seq <= seq) {
            found = mid;
            found_seq = r.commit_seq;
            lo = mid + 1;
        } else {
            if (mid == 0)
                break;
            hi = mid - 1;
        }
    }
    if (found == 0)
        return rs_err_set(err, RS_E_NOTFOUND,
                          "sequence %" PRIu64 " is before the first readable version's commit (readable versions "
                          "are [%" PRIu64 ", %" PRIu64 "])",
                          seq, st.earliest, st.latest);
    *version = found;
    if (commit_seq != NULL)
        *commit_seq = found_seq;
    return RS_OK;
}

/* Any layout's versions record: a WAL archived before a conversion is
 * still indexed by version. */
rs_code rs_store_batch_version(rs_store *s, const uint8_t *data, size_t len, rs_store_version_mark *out,
                               rs_err *err)
{
    struct store_batch_rec rec;
    rs_code rc = store_batch_first(data, len, &rec, err);
    if (rc != RS_OK)
        return rc;
    if (!rec.found || s->cf[STORE_CF_META] == NULL || rec.tag != STORE_BATCH_TAG_CF_PUT ||
        rec.cf != s->meta_cf_id ||
        rec.key_len != STORE_META_VSTATE_LEN || memcmp(rec.key, STORE_META_VSTATE, rec.key_len) != 0)
        return RS_E_NOTFOUND;
    struct store_vstate st;
    if (!rec.has_value || store_vstate_decode(rec.value, rec.value_len, &st) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "write batch: versions record is malformed");
    *out = (rs_store_version_mark){(rs_store_version_kind)st.kind, st.latest, st.earliest};
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

rs_code rs_store_version_reload(rs_store *s, rs_err *err)
{
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc != RS_OK)
        return rc;
    if (st.latest > 0)
        atomic_store(&s->v.versioned, 1); /* promoted, it refuses plain writes */
    /* a primary's prune may have kept versions */
    atomic_store(&s->v.pruner.kept_last_valid, 0);
    pthread_mutex_lock(&s->v.floor_mu);
    if (st.earliest > s->v.pending_earliest)
        s->v.pending_earliest = st.earliest;
    /* a read that began before the primary's prune arrived keeps its
     * history: it registered against the old earliest */
    uint64_t floor = st.earliest;
    for (size_t i = 0; i < s->v.readers.n; i++)
        if (s->v.readers.items[i].version < floor)
            floor = s->v.readers.items[i].version;
    pthread_mutex_unlock(&s->v.floor_mu);
    store_gc_floor_raise(s, floor);
    return RS_OK;
}

/* Keys the first commit adopted, or a conversion from layout 1 left
 * behind, wait in the default family for the next commit to remove them
 * (and its files, which nothing else would compact). */
static int default_holds_keys(rs_store *s)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->read_opts, s->cf[STORE_CF_DEFAULT]);
    rocksdb_iter_seek_to_first(it);
    int any = rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    uint64_t sst = 0;
    if (rocksdb_property_int_cf(s->db, s->cf[STORE_CF_DEFAULT], "rocksdb.live-sst-files-size", &sst) != 0)
        sst = 0;
    return any || sst > 0;
}

void store_versions_init(rs_store *s)
{
    pthread_mutex_init(&s->v.write_mu, NULL);
    pthread_mutex_init(&s->v.floor_mu, NULL);
    pthread_mutex_init(&s->v.gc_mu, NULL);
    pthread_mutex_init(&s->v.pruner.mu, NULL);
    pthread_mutex_init(&s->v.pruner.round_mu, NULL);
    pthread_cond_init(&s->v.pruner.wake, NULL);
}

rs_code store_versions_open(rs_store *s, rs_err *err)
{
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc != RS_OK)
        return rc;
    s->v.pending_earliest = st.earliest;
    /* layout 1 keeps its latest state in the default family */
    atomic_store(&s->v.versioned, st.latest > 0 && !s->v.layout1);
    s->v.default_dirty = st.latest > 0 && !s->cfg.read_only && default_holds_keys(s);
    store_gc_floor_raise(s, st.earliest);
    return store_prune_open(s, err);
}

void store_versions_close(rs_store *s)
{
    store_prune_close(s);
    free(s->v.pins.items);
    free(s->v.readers.items);
    free(s->v.kept_readers.items);
    pthread_cond_destroy(&s->v.pruner.wake);
    pthread_mutex_destroy(&s->v.pruner.round_mu);
    pthread_mutex_destroy(&s->v.pruner.mu);
    pthread_mutex_destroy(&s->v.gc_mu);
    pthread_mutex_destroy(&s->v.floor_mu);
    pthread_mutex_destroy(&s->v.write_mu);
}
