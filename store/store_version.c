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

rs_code store_vstate_read(rs_store *s, const rocksdb_readoptions_t *ro, struct store_vstate *st, rs_err *err)
{
    uint8_t buf[STORE_VSTATE_BYTES];
    size_t len = 0;
    memset(st, 0, sizeof *st);
    rs_code rc = store_meta_read(s, ro, (const uint8_t *)STORE_META_VSTATE, STORE_META_VSTATE_LEN, buf, sizeof buf,
                                 &len, "read the versions record", err);
    if (rc == RS_E_NOTFOUND)
        return RS_OK;
    if (rc == RS_OK && store_vstate_decode(buf, len, st) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': versions record is malformed (%zu bytes)", s->path,
                          len);
    return rc;
}

rs_code store_vrecord_read(rs_store *s, const rocksdb_readoptions_t *ro, uint64_t version, struct store_vrecord *r,
                           rs_err *err)
{
    uint8_t key[STORE_VRECORD_KEY_BYTES], buf[STORE_VRECORD_BYTES];
    size_t len = 0;
    store_vrecord_key(version, key);
    rs_code rc = store_meta_read(s, ro, key, sizeof key, buf, sizeof buf, &len, "read a version record", err);
    if (rc == RS_OK && store_vrecord_decode(buf, len, r) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': record of version %" PRIu64 " is malformed", s->path,
                          version);
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
    if (ws->n == ws->cap)
        return; /* cannot happen: cap is the batch's own count */
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

struct commit {
    rs_store             *s;
    uint64_t              version;
    struct store_vstate   st;      /* before */
    struct wset           ws;
    rocksdb_pinnableslice_t **prior;
    rocksdb_writebatch_t *wb;
    struct store_vrecord  rec;
};

static rs_code read_prior(struct commit *c, rs_err *err)
{
    size_t n = c->ws.n;
    if (n == 0)
        return RS_OK;
    const char **keys = malloc(n * sizeof *keys);
    size_t *lens = malloc(n * sizeof *lens);
    char **errs = calloc(n, sizeof *errs);
    c->prior = calloc(n, sizeof *c->prior);
    rs_code rc = RS_OK;
    if (keys == NULL || lens == NULL || errs == NULL || c->prior == NULL) {
        rc = rs_err_set(err, RS_E_NOMEM, "commit of version %" PRIu64 ": out of memory", c->version);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i] = (const char *)c->ws.ops[i].k.key;
        lens[i] = c->ws.ops[i].k.key_len;
    }
    /* consistent without a snapshot: every writer of a versioned database's
     * keys (commit, rollback) holds write_mu, which the caller holds */
    rocksdb_batched_multi_get_cf(c->s->db, c->s->read_opts, c->s->cf[STORE_CF_DEFAULT], n, keys, lens, c->prior,
                                 errs, 1);
    for (size_t i = 0; i < n; i++)
        if (errs[i] != NULL)
            rc = store_err_from(err, errs[i], "commit: read the values it overwrites", c->s->path);
out:
    free(keys);
    free(lens);
    free(errs);
    return rc;
}

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

/* History entries: (key, version) -> tag + the value the key had. */
static rs_code put_history(struct commit *c, rs_err *err)
{
    size_t max_key = 0;
    for (size_t i = 0; i < c->ws.n; i++)
        if (c->ws.ops[i].k.key_len > max_key)
            max_key = c->ws.ops[i].k.key_len;
    uint8_t *hkey = malloc(store_hkey_max(max_key));
    if (hkey == NULL)
        return rs_err_set(err, RS_E_NOMEM, "commit of version %" PRIu64 ": out of memory", c->version);
    for (size_t i = 0; i < c->ws.n; i++) {
        const struct wop *op = &c->ws.ops[i];
        size_t hlen = store_hkey_encode(op->k.key, op->k.key_len, c->version, hkey);
        uint8_t tag = c->prior[i] != NULL ? STORE_HIST_PRESENT : 0;
        size_t plen = 0;
        const char *pval = c->prior[i] != NULL ? rocksdb_pinnableslice_value(c->prior[i], &plen) : "";
        const char *klist[1] = {(const char *)hkey};
        size_t klens[1] = {hlen};
        const char *vlist[2] = {(const char *)&tag, pval};
        size_t vlens[2] = {1, plen};
        rocksdb_writebatch_putv_cf(c->wb, c->s->cf[STORE_CF_HISTORY], 1, klist, klens, 2, vlist, vlens);
        c->rec.history_bytes += hlen + 1 + plen;
    }
    free(hkey);
    return RS_OK;
}

static void put_writes(struct commit *c)
{
    for (size_t i = 0; i < c->ws.n; i++) {
        const struct wop *op = &c->ws.ops[i];
        if (op->del)
            rocksdb_writebatch_delete(c->wb, (const char *)op->k.key, op->k.key_len);
        else
            rocksdb_writebatch_put(c->wb, (const char *)op->k.key, op->k.key_len, (const char *)op->val, op->val_len);
    }
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
    struct store_vstate next = {RS_STORE_VERSION_COMMIT, c->version, c->st.earliest == 0 ? c->version : c->st.earliest};
    store_vstate_put(c->wb, s, &next);
    rs_code rc = put_change_list(c, err);
    if (rc == RS_OK)
        rc = put_history(c, err);
    if (rc != RS_OK)
        return rc;
    put_writes(c);
    /* the record goes last in the code but its place in the batch does not
     * matter; it needs history_bytes, known only now */
    uint8_t key[STORE_VRECORD_KEY_BYTES], val[STORE_VRECORD_BYTES];
    store_vrecord_key(c->version, key);
    c->rec.n_writes = (uint32_t)c->ws.n;
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
    if ((rc = read_prior(c, err)) != RS_OK)
        return rc;
    digest_write_set(c->version, prev, &c->ws, c->rec.digest);
    if ((rc = build_batch(c, err)) != RS_OK)
        return rc;
    if ((rc = store_write_apply(s, c->wb, seq, err)) != RS_OK)
        return rc;
    check_commit_seq(c);
    return RS_OK;
}

static void commit_release(struct commit *c)
{
    if (c->prior != NULL)
        for (size_t i = 0; i < c->ws.n; i++)
            rocksdb_pinnableslice_destroy(c->prior[i]);
    free(c->prior);
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
                   "commit of version %" PRIu64 ": the batch holds a range delete, whose history cannot be kept",
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
    commit_release(&c);
    /* the wait for durability is outside the lock, so the next commit can
     * be applied while this one's fsync runs (group commit) */
    if (rc == RS_OK)
        atomic_store(&s->v.versioned, 1);
    if (rc == RS_OK)
        rc = store_write_wait(s, seq, err);
    if (rc == RS_OK)
        store_pruner_kick(s, version);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

int rs_store_is_versioned(rs_store *s) { return atomic_load(&s->v.versioned); }

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
    uint8_t lo[STORE_VRECORD_KEY_BYTES], hi[STORE_VRECORD_KEY_BYTES];
    store_vrecord_key(0, lo);
    store_vrecord_key(st.earliest, hi);
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

/* RocksDB's WriteBatch: an 8-byte sequence, a 4-byte count, then records;
 * a put to a column family other than the default is the tag 0x05, the
 * family's id as a varint32, then the key and the value, each a varint32
 * length and its bytes (RocksDB's write_batch.cc; stable, it is the WAL's
 * format). */
#define WB_HEADER 12
#define WB_TAG_CF_PUT 0x05

static int wb_varint32(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
    uint32_t v = 0;
    for (int shift = 0; shift <= 28 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint32_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

rs_code rs_store_batch_version(rs_store *s, const uint8_t *data, size_t len, rs_store_version_mark *out,
                               rs_err *err)
{
    if (len < WB_HEADER)
        return rs_err_set(err, RS_E_CORRUPT, "write batch of %zu bytes is shorter than its %d-byte header", len,
                          WB_HEADER);
    const uint8_t *p = data + WB_HEADER, *end = data + len;
    uint32_t cf = 0, klen = 0, vlen = 0;
    if (p == end || s->cf[STORE_CF_META] == NULL || *p++ != WB_TAG_CF_PUT || wb_varint32(&p, end, &cf) != 0 ||
        cf != rocksdb_column_family_handle_get_id(s->cf[STORE_CF_META]) || wb_varint32(&p, end, &klen) != 0 ||
        klen != STORE_META_VSTATE_LEN || (size_t)(end - p) < klen || memcmp(p, STORE_META_VSTATE, klen) != 0)
        return RS_E_NOTFOUND;
    p += klen;
    struct store_vstate st;
    if (wb_varint32(&p, end, &vlen) != 0 || (size_t)(end - p) < vlen || store_vstate_decode(p, vlen, &st) != 0)
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
    store_filter_floor_raise(s, floor);
    return RS_OK;
}

void store_versions_init(rs_store *s)
{
    pthread_mutex_init(&s->v.write_mu, NULL);
    pthread_mutex_init(&s->v.floor_mu, NULL);
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
    atomic_store(&s->v.versioned, st.latest > 0);
    store_filter_floor_raise(s, st.earliest);
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
    pthread_mutex_destroy(&s->v.floor_mu);
    pthread_mutex_destroy(&s->v.write_mu);
}
