/*
 * The state family of versioned state: the user's keys, each value stored
 * at the version that wrote it, as RocksDB's user-defined timestamp (the
 * block height). A read at version H is one lookup (RocksDB returns the
 * newest value at or below H), a commit one insert per key, and pruning is
 * RocksDB's own garbage collection below full_history_ts_low. Also: which
 * family a read of the user's keys goes to.
 */
#include <string.h>

#include "store/store_int.h"

/* Stored in the database (RocksDB refuses to open the family under another
 * comparator name): never change it, nor the order below. */
static const char STATE_CMP_NAME[] = "rockstream.bytewise.be64ts.1";

/* A read at the latest version: newer than any version. */
static const uint8_t TS_LATEST[STORE_TS_BYTES] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Bytewise order of the user keys, as RocksDB's default comparator: the
 * comparator is on every lookup's path, so it calls nothing of ours. */
static inline int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Keys carry their timestamp: user key, then 8 bytes. Equal user keys
 * order newest first, which is what RocksDB's timestamp support expects. */
static int cmp(void *state, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)state;
    int c = bytes_cmp(a, alen - STORE_TS_BYTES, b, blen - STORE_TS_BYTES);
    if (c != 0)
        return c;
    return memcmp(b + blen - STORE_TS_BYTES, a + alen - STORE_TS_BYTES, STORE_TS_BYTES);
}

/* Timestamps alone, oldest first: big-endian numbers order as bytes. */
static int cmp_ts(void *state, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)state;
    (void)alen;
    (void)blen;
    return memcmp(a, b, STORE_TS_BYTES);
}

static int cmp_without_ts(void *state, const char *a, size_t alen, unsigned char a_has_ts, const char *b,
                          size_t blen, unsigned char b_has_ts)
{
    (void)state;
    return bytes_cmp(a, alen - (a_has_ts ? STORE_TS_BYTES : 0), b, blen - (b_has_ts ? STORE_TS_BYTES : 0));
}

static const char *cmp_name(void *state)
{
    (void)state;
    return STATE_CMP_NAME;
}

/* No state to free; RocksDB calls it unconditionally. */
static void cmp_destroy(void *state) { (void)state; }

rocksdb_comparator_t *store_state_cmp_create(void)
{
    return rocksdb_comparator_with_ts_create(NULL, cmp_destroy, cmp, cmp_ts, cmp_without_ts, cmp_name,
                                             STORE_TS_BYTES);
}

rocksdb_readoptions_t *store_state_read_opts(const rocksdb_snapshot_t *snap, uint64_t version,
                                             uint8_t ts[STORE_TS_BYTES])
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (snap != NULL)
        rocksdb_readoptions_set_snapshot(ro, snap);
    store_put_be64(ts, version);
    rocksdb_readoptions_set_timestamp(ro, (const char *)ts, STORE_TS_BYTES);
    return ro;
}

rocksdb_readoptions_t *store_state_latest_opts(const rocksdb_snapshot_t *snap)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (snap != NULL)
        rocksdb_readoptions_set_snapshot(ro, snap);
    rocksdb_readoptions_set_timestamp(ro, (const char *)TS_LATEST, sizeof TS_LATEST);
    return ro;
}

void store_user_read(rs_store *s, const rs_store_view *view, struct store_user_read *out)
{
    if (atomic_load(&s->v.versioned)) {
        out->cf = s->cf[STORE_CF_STATE];
        out->ro = view != NULL ? view->state_read_opts : s->state_read_opts;
    } else {
        out->cf = s->cf[STORE_CF_DEFAULT];
        out->ro = view != NULL ? view->read_opts : s->read_opts;
    }
}

rocksdb_column_family_handle_t *store_user_iter_cf(rs_store *s, rocksdb_readoptions_t *ro)
{
    if (!atomic_load(&s->v.versioned))
        return s->cf[STORE_CF_DEFAULT];
    rocksdb_readoptions_set_timestamp(ro, (const char *)TS_LATEST, sizeof TS_LATEST);
    return s->cf[STORE_CF_STATE];
}

void store_state_write(rs_store *s, rocksdb_writebatch_t *wb, const uint8_t *key, size_t key_len, uint64_t version,
                       const uint8_t *val, size_t val_len)
{
    uint8_t ts[STORE_TS_BYTES];
    store_put_be64(ts, version);
    if (val == NULL)
        rocksdb_writebatch_delete_cf_with_ts(wb, s->cf[STORE_CF_STATE], (const char *)key, key_len,
                                             (const char *)ts, sizeof ts);
    else
        rocksdb_writebatch_put_cf_with_ts(wb, s->cf[STORE_CF_STATE], (const char *)key, key_len, (const char *)ts,
                                          sizeof ts, (const char *)val, val_len);
}
