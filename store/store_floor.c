/*
 * The pruning floor's inputs from outside the policy: pins (a snapshot or an
 * export holds its version), the slowest connected follower's applied
 * version, and the versioned reads running now. Pruning moves earliest up
 * to the lowest of these and what the policy asks, never past one.
 *
 * A version at or above pending_earliest (what pruning has decided, which
 * may be ahead of what it has written) is held by registering it under
 * floor_mu, the same lock pruning decides under, so the two cannot cross.
 * Below it only versions keep-every kept are readable, and those are never
 * pruned, so they need no hold: a pin or read of one does not stall pruning.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/log.h"
#include "store/store_int.h"

/* ---- a small multiset of versions ------------------------------------ */

static int counts_add(struct store_counts *c, uint64_t version)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->items[i].version == version) {
            c->items[i].n++;
            return 0;
        }
    }
    struct store_count *grown = rs_array_grow(c->items, &c->cap, c->n, sizeof *c->items, 8);
    if (grown == NULL)
        return -1;
    c->items = grown;
    c->items[c->n++] = (struct store_count){version, 1};
    return 0;
}

static int counts_remove(struct store_counts *c, uint64_t version)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->items[i].version != version)
            continue;
        if (--c->items[i].n == 0)
            c->items[i] = c->items[--c->n];
        return 0;
    }
    return -1;
}

/* The lowest version at or above from, or UINT64_MAX. */
static uint64_t counts_min_from(const struct store_counts *c, uint64_t from)
{
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].version >= from && c->items[i].version < m)
            m = c->items[i].version;
    return m;
}

uint64_t store_floor_locked(rs_store *s, uint64_t target)
{
    uint64_t pend = s->v.pending_earliest, floor = target;
    uint64_t pin = counts_min_from(&s->v.pins, pend), reader = counts_min_from(&s->v.readers, pend);
    if (pin < floor)
        floor = pin;
    if (reader < floor)
        floor = reader;
    if (s->v.follower_set && s->v.follower_version < floor)
        floor = s->v.follower_version;
    return floor < pend ? pend : floor;
}

/* ---- what garbage collection may drop -------------------------------- */

/* A read of a version keep-every kept is not held by the decision (kept
 * versions are never pruned) but by garbage collection: it reads the state
 * as of the earliest its snapshot saw, which later prune rounds move past,
 * and RocksDB collects the versions below full_history_ts_low (and refuses
 * reads there). So the floor stays at or below that earliest while such a
 * read runs. Under floor_mu; never lowers it; returns it. */
static uint64_t gc_floor_update_locked(rs_store *s)
{
    uint64_t floor = s->v.floor_written, reader = counts_min_from(&s->v.kept_readers, 0);
    if (reader < floor)
        floor = reader;
    if (floor > atomic_load(&s->v.gc_floor))
        atomic_store(&s->v.gc_floor, floor);
    return atomic_load(&s->v.gc_floor);
}

/* Each raise writes RocksDB's MANIFEST (and fsyncs it), and compactions
 * need no fresher floor than a few dozen versions back: the floor goes to
 * RocksDB once it has moved this many versions, and whenever a compaction
 * is asked for (store_gc_floor_apply). */
#define GC_RAISE_STEP 64u

/* Tells RocksDB the floor version's tick, outside floor_mu, one raise at a
 * time (gc_mu), each higher than the last. A floor whose record is gone
 * (an earliest a kept read held, pruned since) is skipped: the next raise
 * goes past it. */
static void gc_floor_tell(rs_store *s, uint64_t floor, int now)
{
    struct store_vstate st;
    uint64_t tick = 0;
    if (s->cfg.read_only || s->cf[STORE_CF_STATE] == NULL || floor == 0)
        return;
    pthread_mutex_lock(&s->v.gc_mu);
    int due = now ? floor > s->v.gc_told : floor >= s->v.gc_told + GC_RAISE_STEP;
    if (due && store_vstate_read(s, NULL, &st, NULL) == RS_OK && floor <= st.latest &&
        store_version_tick(s, NULL, &st, floor, &tick, NULL) == RS_OK) {
        uint8_t ts[STORE_TS_BYTES];
        store_put_be64(ts, tick);
        char *errptr = NULL;
        rocksdb_increase_full_history_ts_low(s->db, s->cf[STORE_CF_STATE], (const char *)ts, sizeof ts, &errptr);
        if (errptr == NULL)
            s->v.gc_told = floor;
        else
            RS_LOG_WARN("versioned state: garbage collection floor not raised floor=%" PRIu64 " error=%s "
                        "why=old versions stay on disk until the next raise",
                        floor, errptr);
        rocksdb_free(errptr);
    }
    pthread_mutex_unlock(&s->v.gc_mu);
}

void store_gc_floor_raise(rs_store *s, uint64_t written)
{
    pthread_mutex_lock(&s->v.floor_mu);
    if (written > s->v.floor_written)
        s->v.floor_written = written;
    uint64_t floor = gc_floor_update_locked(s);
    pthread_mutex_unlock(&s->v.floor_mu);
    gc_floor_tell(s, floor, 0);
}

void store_gc_floor_apply(rs_store *s) { gc_floor_tell(s, atomic_load(&s->v.gc_floor), 1); }

int store_kept_reader_enter(rs_store *s, uint64_t snap_earliest)
{
    int r = 0;
    pthread_mutex_lock(&s->v.floor_mu);
    /* the floor only rises after the versions record that moves earliest
     * is written; a snapshot taken after that sees it */
    if (atomic_load(&s->v.gc_floor) <= snap_earliest)
        r = counts_add(&s->v.kept_readers, snap_earliest) == 0 ? 1 : -1;
    pthread_mutex_unlock(&s->v.floor_mu);
    return r;
}

void store_kept_reader_leave(rs_store *s, uint64_t snap_earliest)
{
    pthread_mutex_lock(&s->v.floor_mu);
    counts_remove(&s->v.kept_readers, snap_earliest);
    uint64_t floor = gc_floor_update_locked(s);
    pthread_mutex_unlock(&s->v.floor_mu);
    gc_floor_tell(s, floor, 0);
}

/* ---- versioned readers ----------------------------------------------- */

uint64_t store_pending_earliest(rs_store *s)
{
    pthread_mutex_lock(&s->v.floor_mu);
    uint64_t pend = s->v.pending_earliest;
    pthread_mutex_unlock(&s->v.floor_mu);
    return pend;
}

int store_reader_enter(rs_store *s, uint64_t version)
{
    int r = 0;
    pthread_mutex_lock(&s->v.floor_mu);
    if (version >= s->v.pending_earliest)
        r = counts_add(&s->v.readers, version) == 0 ? 1 : -1;
    pthread_mutex_unlock(&s->v.floor_mu);
    return r;
}

void store_reader_leave(rs_store *s, uint64_t version)
{
    pthread_mutex_lock(&s->v.floor_mu);
    counts_remove(&s->v.readers, version);
    pthread_mutex_unlock(&s->v.floor_mu);
}

/* ---- pins -------------------------------------------------------------- */

rs_code rs_store_pin(rs_store *s, uint64_t version, rs_err *err)
{
    struct store_vstate st;
    rs_code rc = store_vstate_read(s, NULL, &st, err);
    if (rc != RS_OK)
        return rc;
    if (version == 0 || version > st.latest)
        return store_version_refuse(err, "pin", version, &st, 0);
    /* a kept version is never pruned; checked before the lock (I/O) */
    struct store_vrecord r;
    int kept = version < st.earliest && store_vrecord_read(s, NULL, version, &r, NULL) == RS_OK;
    pthread_mutex_lock(&s->v.floor_mu);
    uint64_t pend = s->v.pending_earliest;
    int ok = version >= pend || kept;
    int added = ok && counts_add(&s->v.pins, version) == 0;
    pthread_mutex_unlock(&s->v.floor_mu);
    if (!ok)
        return store_version_refuse(err, "pin", version, &st, pend);
    if (!added)
        return rs_err_set(err, RS_E_NOMEM, "pin version %" PRIu64 ": out of memory", version);
    RS_LOG_DEBUG("version pinned version=%" PRIu64, version);
    return RS_OK;
}

void rs_store_unpin(rs_store *s, uint64_t version)
{
    pthread_mutex_lock(&s->v.floor_mu);
    int missing = counts_remove(&s->v.pins, version);
    pthread_mutex_unlock(&s->v.floor_mu);
    if (missing)
        RS_LOG_WARN("unpin of a version that is not pinned version=%" PRIu64 " why=a caller unpinned twice",
                    version);
}

/* ---- the slowest follower ------------------------------------------- */

void rs_store_follower_version_set(rs_store *s, uint64_t version)
{
    pthread_mutex_lock(&s->v.floor_mu);
    s->v.follower_version = version;
    s->v.follower_set = 1;
    pthread_mutex_unlock(&s->v.floor_mu);
}

void rs_store_follower_version_clear(rs_store *s)
{
    pthread_mutex_lock(&s->v.floor_mu);
    s->v.follower_set = 0;
    pthread_mutex_unlock(&s->v.floor_mu);
}
