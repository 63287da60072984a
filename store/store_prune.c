/*
 * Pruning versioned history: the policy (Cosmos SDK's keep-recent,
 * keep-every, interval, and the presets), the pruner thread that a commit
 * at an interval boundary wakes, a round (decide, keep what keep-every
 * needs, write the new earliest), and reclaiming the space.
 *
 * What is dropped and how: the state family keeps every version of a key
 * under its user-defined timestamp, so pruning is RocksDB's own garbage
 * collection: once earliest is written, full_history_ts_low is raised to
 * it (store_floor.c), and every compaction from then on keeps, of each key,
 * the versions at or above earliest and the newest below, in RocksDB's
 * background threads, so a commit never waits for it. Change lists are
 * keyed by version, so one range delete removes the pruned ones and whole
 * files of them are unlinked at once. Version records between kept
 * versions are point-deleted in the same batch as the versions record that
 * moves earliest.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "store/store_int.h"

/* A round moves earliest at most this far, so its batch (one delete per
 * version record) and its keep-every pass stay bounded; a long way is many
 * rounds, each one consistent. */
#define ROUND_MAX_VERSIONS 10000u

/* Keep-every copies the values of kept versions into the kept family, in
 * batches of this many. */
#define KEEP_BATCH_OPS 1000u

/* ------------------------------------------------------------------ */
/* The policy                                                          */
/* ------------------------------------------------------------------ */

static const char *const mode_names[] = {
    [RS_STORE_PRUNE_RECORDED] = "recorded", [RS_STORE_PRUNE_NOTHING] = "nothing",
    [RS_STORE_PRUNE_EVERYTHING] = "everything", [RS_STORE_PRUNE_DEFAULT] = "default",
    [RS_STORE_PRUNE_CUSTOM] = "custom",
};

int rs_store_prune_mode_parse(const char *name, rs_store_prune_mode *out)
{
    for (int m = RS_STORE_PRUNE_NOTHING; m <= RS_STORE_PRUNE_CUSTOM; m++) {
        if (strcasecmp(name, mode_names[m]) == 0) {
            *out = (rs_store_prune_mode)m;
            return 0;
        }
    }
    return -1;
}

const char *rs_store_prune_mode_name(rs_store_prune_mode mode)
{
    if ((unsigned)mode > RS_STORE_PRUNE_CUSTOM)
        return "unknown";
    return mode_names[mode];
}

rs_code rs_store_prune_policy_check(const rs_store_prune_policy *p, rs_err *err)
{
    if ((unsigned)p->mode > RS_STORE_PRUNE_CUSTOM)
        return rs_err_set(err, RS_E_INVALID, "unknown pruning policy %d", (int)p->mode);
    if (p->mode != RS_STORE_PRUNE_CUSTOM && (p->keep_recent | p->keep_every | p->interval) != 0)
        return rs_err_set(err, RS_E_INVALID,
                          "pruning policy '%s' takes no numbers: keep-recent, keep-every and interval go with "
                          "'custom'",
                          rs_store_prune_mode_name(p->mode));
    if (p->mode == RS_STORE_PRUNE_CUSTOM && p->interval == 0) {
        rs_err_set(err, RS_E_INVALID, "pruning interval 0 would never prune");
        rs_err_hint(err, "use the policy 'nothing' to keep every version (an archive node)");
        return RS_E_INVALID;
    }
    return RS_OK;
}

/* Spells out a preset's numbers (Cosmos SDK's store/pruning/types). */
static rs_store_prune_policy expand(rs_store_prune_policy p)
{
    switch (p.mode) {
    case RS_STORE_PRUNE_EVERYTHING: return (rs_store_prune_policy){p.mode, 0, 0, 10};
    case RS_STORE_PRUNE_DEFAULT: return (rs_store_prune_policy){p.mode, 362880, 0, 10};
    case RS_STORE_PRUNE_CUSTOM: return p;
    case RS_STORE_PRUNE_RECORDED:
    case RS_STORE_PRUNE_NOTHING: break;
    }
    return (rs_store_prune_policy){RS_STORE_PRUNE_NOTHING, 0, 0, 0};
}

void rs_store_prune_policy_get(rs_store *s, rs_store_prune_policy *out) { *out = s->v.policy; }

static rs_code policy_read(rs_store *s, rs_store_prune_policy *out, rs_err *err)
{
    uint8_t buf[STORE_POLICY_BYTES];
    size_t len = 0;
    *out = (rs_store_prune_policy){RS_STORE_PRUNE_NOTHING, 0, 0, 0};
    rs_code rc = store_meta_read(s, NULL, (const uint8_t *)STORE_META_POLICY, STORE_META_POLICY_LEN, buf,
                                 sizeof buf, &len, "read the pruning policy", err);
    if (rc == RS_E_NOTFOUND)
        return RS_OK;
    if (rc == RS_OK && store_policy_decode(buf, len, out) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "database '%s': recorded pruning policy is malformed", s->path);
    return rc;
}

static void policy_put(rocksdb_writebatch_t *wb, rs_store *s)
{
    uint8_t buf[STORE_POLICY_BYTES];
    store_policy_encode(&s->v.policy, buf);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], STORE_META_POLICY, STORE_META_POLICY_LEN, (const char *)buf,
                              sizeof buf);
}

static int prunes(const rs_store_prune_policy *p) { return p->mode != RS_STORE_PRUNE_NOTHING; }

/* ------------------------------------------------------------------ */
/* Keep-every: what a kept version needs                               */
/* ------------------------------------------------------------------ */
/*
 * Once earliest passes a version K keep-every kept, garbage collection may
 * drop the values K reads. So before earliest moves from E_old to E_new,
 * every key a version v in (E_old, E_new] changed gets an entry in the kept
 * family at (key, K), K the kept version just below v, holding the key's
 * value at K. A key no pruned version changed after K reads at K as it
 * does at earliest. The value at K is read the way a read at K reads it:
 * K >= E_old from the state, K < E_old through the entries earlier rounds
 * wrote. A key changed several times after K gets the same entry again:
 * cheaper than asking which change came first.
 */

struct keep {
    rs_store             *s;
    const struct store_vstate *st; /* as the round found it: earliest is e_old */
    uint64_t              e_old, e_new, every, kept_below; /* kept_below: largest kept < e_old, or 0 */
    rocksdb_writebatch_t *wb;
    uint8_t              *buf;
    size_t                buf_cap;
    uint64_t              n_kept;
    rs_err               *err;
    rs_code               rc;
};

/* The kept version just below v, or 0 for none: one this round keeps, or
 * the last one kept before it (by this policy or an earlier one). */
static uint64_t kept_below(const struct keep *k, uint64_t v)
{
    uint64_t m = k->every > 0 ? (v - 1) / k->every * k->every : 0;
    if (m >= k->e_old && m >= 1)
        return m;
    return k->kept_below;
}

static int keep_flush(struct keep *k)
{
    if (rocksdb_writebatch_count(k->wb) == 0)
        return 0;
    uint64_t seq = 0;
    pthread_mutex_lock(&k->s->v.write_mu);
    k->rc = store_write_apply(k->s, k->wb, &seq, k->err);
    pthread_mutex_unlock(&k->s->v.write_mu);
    rocksdb_writebatch_clear(k->wb);
    return k->rc == RS_OK ? 0 : -1;
}

static int keep_one(void *arg, uint64_t version, const uint8_t *key, size_t key_len)
{
    struct keep *k = arg;
    uint64_t kept = kept_below(k, version), kept_at = 0;
    if (kept == 0)
        return 0;
    rs_store_value val = {0};
    rs_code rc = store_get_as_of(k->s, NULL, k->st, kept, key, key_len, &val, &kept_at, k->err);
    if (rc != RS_OK && rc != RS_E_NOTFOUND) {
        k->rc = rc;
        return -1;
    }
    if (kept_at == kept) { /* an earlier round wrote it */
        rs_store_value_release(&val);
        return 0;
    }
    if (store_buf_grow(&k->buf, &k->buf_cap, store_hkey_max(key_len)) != 0) {
        rs_store_value_release(&val);
        k->rc = rs_err_set(k->err, RS_E_NOMEM, "prune: out of memory");
        return -1;
    }
    size_t hlen = store_hkey_encode(key, key_len, kept, k->buf);
    uint8_t tag = rc == RS_OK ? STORE_HIST_PRESENT : 0;
    const char *klist[1] = {(const char *)k->buf};
    const char *vlist[2] = {(const char *)&tag, rc == RS_OK ? (const char *)val.data : ""};
    size_t vlens[2] = {1, rc == RS_OK ? val.len : 0};
    rocksdb_writebatch_putv_cf(k->wb, k->s->cf[STORE_CF_KEPT], 1, klist, &hlen, 2, vlist, vlens);
    rs_store_value_release(&val);
    k->n_kept++;
    if (rocksdb_writebatch_count(k->wb) >= (int)KEEP_BATCH_OPS)
        return keep_flush(k);
    return 0;
}

static int note_kept(void *arg, uint64_t version)
{
    *(uint64_t *)arg = version;
    return 0;
}

/* The largest kept version below e_old (the earliest as written): records
 * below earliest are only those of kept versions. Kept in memory between
 * rounds (round_mu): finding it means walking past the deleted records of
 * every pruned version until a compaction drops them. */
static rs_code find_kept_below(rs_store *s, uint64_t e_old, uint64_t *out, rs_err *err)
{
    struct store_pruner *p = &s->v.pruner;
    if (!atomic_load(&p->kept_last_valid)) {
        uint64_t last = 0;
        rs_code rc = e_old <= 1 ? RS_OK : store_kept_scan(s, e_old, note_kept, &last, err);
        if (rc != RS_OK)
            return rc;
        p->kept_last = last;
        atomic_store(&p->kept_last_valid, 1);
    }
    *out = p->kept_last;
    return RS_OK;
}

/* After a round moved earliest from e_old to e_new. */
static void kept_last_update(rs_store *s, uint64_t e_old, uint64_t e_new)
{
    uint64_t every = s->v.policy.keep_every;
    uint64_t last = every > 0 && e_new > 1 ? (e_new - 1) / every * every : 0;
    if (last >= e_old && last >= 1)
        s->v.pruner.kept_last = last;
}

static rs_code keep_history(rs_store *s, const struct store_vstate *st, uint64_t e_new, uint64_t every,
                            uint64_t *n_kept, rs_err *err)
{
    uint64_t e_old = st->earliest;
    struct keep k = {.s = s, .st = st, .e_old = e_old, .e_new = e_new, .every = every, .err = err};
    rs_code rc = find_kept_below(s, e_old, &k.kept_below, err);
    *n_kept = 0;
    /* nothing kept and nothing to keep: the common case costs nothing */
    if (rc != RS_OK || (every == 0 && k.kept_below == 0))
        return rc;
    k.wb = rocksdb_writebatch_create();
    rc = store_changes_each(s, e_old + 1, e_new, keep_one, &k, err);
    if (rc == RS_OK && k.rc == RS_OK)
        keep_flush(&k);
    if (rc == RS_OK)
        rc = k.rc;
    rocksdb_writebatch_destroy(k.wb);
    free(k.buf);
    *n_kept = k.n_kept;
    return rc;
}

/* ------------------------------------------------------------------ */
/* A round                                                             */
/* ------------------------------------------------------------------ */

struct round {
    uint64_t e_old, e_new;
    uint64_t n_pruned;      /* versions no longer readable */
    uint64_t n_kept;        /* history entries kept */
    uint64_t garbage_bytes; /* history made prunable */
};

static int is_kept(const rs_store_prune_policy *p, uint64_t v) { return p->keep_every > 0 && v % p->keep_every == 0; }

/* Decides how far this round goes: the policy's target, bounded by the
 * floor inputs and by ROUND_MAX_VERSIONS. Sets pending_earliest, from which
 * on new reads below it are refused. Returns 0 if there is nothing to do. */
static int round_decide(rs_store *s, const struct store_vstate *st, struct round *r)
{
    const rs_store_prune_policy *p = &s->v.policy;
    if (st->latest == 0 || st->latest <= p->keep_recent)
        return 0;
    uint64_t target = st->latest - p->keep_recent;
    if (target > st->earliest + ROUND_MAX_VERSIONS)
        target = st->earliest + ROUND_MAX_VERSIONS;
    pthread_mutex_lock(&s->v.floor_mu);
    /* at or above pending_earliest: a round that decided it and failed to
     * write it left reads refused below it; this one writes it */
    uint64_t e_new = store_floor_locked(s, target);
    int go = e_new > st->earliest;
    if (go)
        s->v.pending_earliest = e_new;
    pthread_mutex_unlock(&s->v.floor_mu);
    *r = (struct round){.e_old = st->earliest, .e_new = e_new};
    return go;
}

/* What the versions whose history becomes prunable added to it. */
static rs_code round_garbage(rs_store *s, struct round *r, rs_err *err)
{
    for (uint64_t v = r->e_old + 1; v <= r->e_new; v++) {
        struct store_vrecord rec;
        rs_code rc = store_vrecord_read(s, NULL, v, &rec, err);
        if (rc == RS_OK)
            r->garbage_bytes += rec.history_bytes;
        else if (rc != RS_E_NOTFOUND)
            return rc;
    }
    return RS_OK;
}

/* Deletes the records of the versions leaving the readable range that
 * keep-every does not keep. */
static void round_records(rs_store *s, struct round *r, rocksdb_writebatch_t *wb)
{
    for (uint64_t v = r->e_old; v < r->e_new; v++) {
        if (is_kept(&s->v.policy, v))
            continue;
        uint8_t key[STORE_VRECORD_KEY_BYTES];
        store_vrecord_key(v, key);
        rocksdb_writebatch_delete_cf(wb, s->cf[STORE_CF_META], (const char *)key, sizeof key);
        r->n_pruned++;
    }
}

/* Writes the new earliest: versions record first, then the records and
 * change lists of the pruned versions and the policy, in one batch. */
static rs_code round_write(rs_store *s, struct round *r, rs_err *err)
{
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint64_t seq = 0;
    pthread_mutex_lock(&s->v.write_mu);
    struct store_vstate now;
    rs_code rc = store_vstate_read(s, NULL, &now, err);
    if (rc == RS_OK && (now.earliest != r->e_old || now.latest < r->e_new))
        rc = rs_err_set(err, RS_E_INTERNAL, "prune: versions moved under the round (earliest %" PRIu64
                        " not %" PRIu64 ", latest %" PRIu64 ")", now.earliest, r->e_old, now.latest);
    if (rc == RS_OK) {
        struct store_vstate next = now;
        next.kind = RS_STORE_VERSION_PRUNE;
        next.earliest = r->e_new;
        store_vstate_put(wb, s, &next);
        round_records(s, r, wb);
        uint8_t lo[8], hi[8];
        store_put_be64(lo, 0);
        store_put_be64(hi, r->e_new + 1);
        rocksdb_writebatch_delete_range_cf(wb, s->cf[STORE_CF_CHANGES], (const char *)lo, sizeof lo,
                                           (const char *)hi, sizeof hi);
        policy_put(wb, s);
        rc = store_write_apply(s, wb, &seq, err);
    }
    pthread_mutex_unlock(&s->v.write_mu);
    rocksdb_writebatch_destroy(wb);
    /* durable before any compaction may drop what it made prunable */
    if (rc == RS_OK)
        rc = store_write_wait(s, seq, err);
    return rc;
}

static rs_code round_run(rs_store *s, struct round *r, int *progress, rs_err *err)
{
    *progress = 0;
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc != RS_OK || !round_decide(s, &st, r))
        return rc;
    rc = keep_history(s, &st, r->e_new, s->v.policy.keep_every, &r->n_kept, err);
    if (rc == RS_OK)
        rc = round_garbage(s, r, err);
    if (rc == RS_OK)
        rc = round_write(s, r, err);
    if (rc != RS_OK)
        return rc;
    kept_last_update(s, r->e_old, r->e_new);
    struct store_pruner *p = &s->v.pruner;
    atomic_fetch_add(&p->n_rounds, 1);
    atomic_fetch_add(&p->n_versions, r->n_pruned);
    atomic_fetch_add(&p->n_kept_entries, r->n_kept);
    atomic_fetch_add(&p->garbage_bytes, r->garbage_bytes);
    store_gc_floor_raise(s, r->e_new);
    RS_LOG_DEBUG("prune round earliest=%" PRIu64 "->%" PRIu64 " versions=%" PRIu64 " kept_entries=%" PRIu64, r->e_old,
                 r->e_new, r->n_pruned, r->n_kept);
    *progress = 1;
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* Reclaiming the space                                                */
/* ------------------------------------------------------------------ */

/* Live SST bytes of the families first..last. */
static uint64_t sst_bytes(rs_store *s, int first, int last)
{
    uint64_t total = 0, v = 0;
    for (int cf = first; cf <= last; cf++)
        if (s->cf[cf] != NULL && rocksdb_property_int_cf(s->db, s->cf[cf], "rocksdb.live-sst-files-size", &v) == 0)
            total += v;
    return total;
}

/* The versioned families: change lists, the state (every readable
 * version, the latest included), the kept entries. */
static uint64_t history_sst_bytes(rs_store *s) { return sst_bytes(s, STORE_CF_CHANGES, STORE_CF_KEPT); }

/* Pruned versions wait in files until a compaction reaches them. RocksDB's
 * own compactions collect them as data moves down the levels, as they do
 * overwritten values in any database, but leave alone a level that stops
 * growing. So the pruner compacts the versioned families itself when asked
 * (rs_store_prune: the space is back when it returns), and in the
 * background once the versions it pruned wrote as much as the state family
 * holds (then, had RocksDB collected none of it, the family would be twice
 * what the readable versions need), and at least RECLAIM_MIN_BYTES, so a
 * small database is not compacted at every round. The compaction rewrites
 * the whole state family: its latest state is the live data. */
#define RECLAIM_MIN_BYTES (4ull << 20)

static rs_code reclaim(rs_store *s, int force, uint64_t *reclaimed, rs_err *err)
{
    struct store_pruner *p = &s->v.pruner;
    uint64_t before = history_sst_bytes(s), state = sst_bytes(s, STORE_CF_STATE, STORE_CF_STATE);
    uint64_t threshold = state > RECLAIM_MIN_BYTES ? state : RECLAIM_MIN_BYTES;
    uint64_t garbage = atomic_load(&p->garbage_bytes);
    *reclaimed = 0;
    if (garbage == 0 || (!force && garbage < threshold))
        return RS_OK;
    uint8_t lo[8], hi[8];
    store_put_be64(lo, 0);
    /* RocksDB's DeleteFilesInRange includes the end key: a file may end
     * at the floor's change list, not after it */
    store_put_be64(hi, atomic_load(&s->v.gc_floor));
    char *errptr = NULL;
    rocksdb_delete_file_in_range_cf(s->db, s->cf[STORE_CF_CHANGES], (const char *)lo, sizeof lo, (const char *)hi,
                                    sizeof hi, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "prune: drop change-list files", s->path);
    store_gc_floor_apply(s);
    /* forced to the bottom level: a lone file there holds pruned versions
     * too, and would otherwise be moved, not rewritten */
    rocksdb_compactoptions_t *co = store_compact_options_create();
    rocksdb_compactoptions_set_exclusive_manual_compaction(co, 0); /* RocksDB's own go on */
    rocksdb_compact_range_cf_opt(s->db, s->cf[STORE_CF_CHANGES], co, (const char *)lo, sizeof lo, (const char *)hi,
                                 sizeof hi);
    rocksdb_compact_range_cf_opt(s->db, s->cf[STORE_CF_STATE], co, NULL, 0, NULL, 0);
    rocksdb_compactoptions_destroy(co);
    uint64_t after = history_sst_bytes(s);
    *reclaimed = before > after ? before - after : 0;
    atomic_fetch_sub(&p->garbage_bytes, garbage);
    atomic_fetch_add(&p->n_compactions, 1);
    atomic_fetch_add(&p->reclaimed_bytes, *reclaimed);
    RS_LOG_DEBUG("prune reclaim versioned_bytes=%" PRIu64 "->%" PRIu64, before, after);
    return RS_OK;
}

/* Rounds until the policy and the floor are met, then maybe a reclaim. */
static rs_code prune_run(rs_store *s, int force, rs_store_prune_result *res, rs_err *err)
{
    struct store_pruner *p = &s->v.pruner;
    pthread_mutex_lock(&p->round_mu);
    rs_code rc = RS_OK;
    int progress = 1;
    while (rc == RS_OK && progress) {
        struct round r;
        rc = round_run(s, &r, &progress, err);
        if (rc == RS_OK && progress) {
            res->earliest_after = r.e_new;
            res->versions_pruned += r.n_pruned;
            res->kept_entries += r.n_kept;
        }
    }
    if (rc == RS_OK)
        rc = reclaim(s, force, &res->reclaimed_bytes, err);
    pthread_mutex_unlock(&p->round_mu);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The pruner thread                                                   */
/* ------------------------------------------------------------------ */

static void *pruner_main(void *arg)
{
    rs_store *s = arg;
    struct store_pruner *p = &s->v.pruner;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stopping && p->requested == p->handled)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stopping)
            break;
        p->handled = p->requested;
        pthread_mutex_unlock(&p->mu);
        rs_store_prune_result res = {0};
        rs_err failure = RS_ERR_INIT;
        /* nobody to return the error to: the thread logs it and the next
         * interval tries again */
        if (prune_run(s, 0, &res, &failure) != RS_OK)
            RS_LOG_ERR("pruning failed, history grows until it succeeds: %s", failure.msg);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void store_pruner_kick(rs_store *s, uint64_t latest)
{
    struct store_pruner *p = &s->v.pruner;
    uint64_t interval = s->v.policy.interval;
    if (!p->running || interval == 0 || latest % interval != 0)
        return;
    pthread_mutex_lock(&p->mu);
    p->requested = latest;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

rs_code store_prune_open(rs_store *s, rs_err *err)
{
    rs_store_prune_policy want = s->cfg.prune;
    rs_code rc = want.mode == RS_STORE_PRUNE_RECORDED ? policy_read(s, &want, err)
                                                      : rs_store_prune_policy_check(&want, err);
    if (rc != RS_OK)
        return rc;
    s->v.policy = expand(want);
    if (!prunes(&s->v.policy) || s->cfg.read_only)
        return RS_OK;
    struct store_pruner *p = &s->v.pruner;
    int e = pthread_create(&p->thread, NULL, pruner_main, s);
    if (e != 0)
        return rs_err_sys(err, RS_E_IO, e, "start the pruner thread");
    pthread_setname_np(p->thread, "rs-prune");
    p->running = 1;
    return RS_OK;
}

void store_prune_close(rs_store *s)
{
    struct store_pruner *p = &s->v.pruner;
    if (!p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->running = 0;
}

/* ------------------------------------------------------------------ */
/* Asked for                                                           */
/* ------------------------------------------------------------------ */

/* Records the policy in effect when it differs from the recorded one, so
 * that later opens that ask for none keep pruning the same way. */
static rs_code policy_record(rs_store *s, rs_err *err)
{
    rs_store_prune_policy rec;
    rs_code rc = policy_read(s, &rec, err);
    if (rc != RS_OK || memcmp(&rec, &s->v.policy, sizeof rec) == 0)
        return rc;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    policy_put(wb, s);
    uint64_t seq = 0;
    pthread_mutex_lock(&s->v.write_mu);
    rc = store_write_apply(s, wb, &seq, err);
    pthread_mutex_unlock(&s->v.write_mu);
    rocksdb_writebatch_destroy(wb);
    return rc == RS_OK ? store_write_wait(s, seq, err) : rc;
}

rs_code rs_store_prune(rs_store *s, rs_store_prune_result *out, rs_err *err)
{
    rs_store_prune_result res = {0};
    if (s->cfg.read_only)
        return rs_err_set(err, RS_E_UNSUPPORTED, "prune: database '%s' is open read-only", s->path);
    uint64_t start = rs_clock_mono_ns();
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    res.earliest_before = res.earliest_after = st.earliest;
    if (rc == RS_OK)
        rc = policy_record(s, err);
    if (rc == RS_OK && prunes(&s->v.policy))
        rc = prune_run(s, 1, &res, err);
    res.elapsed_ns = rs_clock_mono_ns() - start;
    if (rc == RS_OK && res.versions_pruned > 0)
        RS_LOG_DEBUG("pruned earliest=%" PRIu64 "->%" PRIu64 " versions=%" PRIu64 " reclaimed_bytes=%" PRIu64,
                    res.earliest_before, res.earliest_after, res.versions_pruned, res.reclaimed_bytes);
    if (out != NULL)
        *out = res;
    return rc;
}

void store_prune_stats(rs_store *s, rs_store_stats *out)
{
    struct store_pruner *p = &s->v.pruner;
    out->history_sst_bytes = history_sst_bytes(s);
    out->prune_rounds = atomic_load(&p->n_rounds);
    out->prune_versions = atomic_load(&p->n_versions);
    out->prune_kept_entries = atomic_load(&p->n_kept_entries);
    out->prune_compactions = atomic_load(&p->n_compactions);
    out->prune_reclaimed_bytes = atomic_load(&p->reclaimed_bytes);
    out->prune_pending_bytes = atomic_load(&p->garbage_bytes);
}
