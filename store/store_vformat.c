/*
 * The on-disk records of versioned state: the versions record, a version's
 * record, the recorded pruning policy, history keys and change lists. Pure
 * encoding, no I/O. docs/format.md is the specification; changing any byte
 * here breaks every existing database.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Keys in rs_meta. Changing them orphans existing versioned state. */
const char STORE_META_VSTATE[] = "versions";
const size_t STORE_META_VSTATE_LEN = sizeof STORE_META_VSTATE - 1;
const char STORE_META_POLICY[] = "prune_policy";
const size_t STORE_META_POLICY_LEN = sizeof STORE_META_POLICY - 1;
static const char VRECORD_PREFIX[8] = "version/";

/* Record format versions; a reader refuses others. The versions record's
 * format is the layout's: 1 kept history as the values each version
 * overwrote (the rs_history family), 2 keeps every value at its tick in the
 * state family, and adds the tick epoch (docs/format.md). A version record
 * of format 1 (layout 1's) has no tick: its tick is its version. */
#define VSTATE_FORMAT 2
#define VRECORD_FORMAT 2
#define POLICY_FORMAT 1

void store_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

uint64_t store_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the versions record -------------------------------------------- */

void store_vstate_encode(const struct store_vstate *st, uint8_t out[STORE_VSTATE_BYTES])
{
    out[0] = VSTATE_FORMAT;
    out[1] = st->kind;
    store_put_be64(out + 2, st->latest);
    store_put_be64(out + 10, st->earliest);
    store_put_be64(out + 18, st->epoch_start);
    store_put_be64(out + 26, st->delta);
}

int store_vstate_decode(const uint8_t *p, size_t len, struct store_vstate *st)
{
    if (len == STORE_VSTATE_V1_BYTES && p[0] == STORE_LAYOUT_HISTORY) {
        st->epoch_start = 1; /* layout 1 had no ticks: each version's is itself */
        st->delta = 0;
    } else if (len == STORE_VSTATE_BYTES && p[0] == VSTATE_FORMAT) {
        st->epoch_start = store_get_be64(p + 18);
        st->delta = store_get_be64(p + 26);
    } else {
        return -1;
    }
    st->format = p[0];
    st->kind = p[1];
    st->latest = store_get_be64(p + 2);
    st->earliest = store_get_be64(p + 10);
    if (st->kind < RS_STORE_VERSION_COMMIT || st->kind > RS_STORE_VERSION_PRUNE || st->earliest > st->latest ||
        st->delta > UINT64_MAX / 2)
        return -1;
    return 0;
}

/* ---- a version's record ------------------------------------------------ */

void store_vrecord_key(uint64_t version, uint8_t out[STORE_VRECORD_KEY_BYTES])
{
    memcpy(out, VRECORD_PREFIX, sizeof VRECORD_PREFIX);
    store_put_be64(out + sizeof VRECORD_PREFIX, version);
}

void store_vrecord_encode(const struct store_vrecord *r, uint8_t out[STORE_VRECORD_BYTES])
{
    out[0] = VRECORD_FORMAT;
    store_put_be64(out + 1, r->commit_seq);
    put_be32(out + 9, r->n_writes);
    store_put_be64(out + 13, r->history_bytes);
    memcpy(out + 21, r->digest, STORE_DIGEST_BYTES);
    store_put_be64(out + 21 + STORE_DIGEST_BYTES, r->tick);
}

int store_vrecord_decode(const uint8_t *p, size_t len, uint64_t version, struct store_vrecord *r)
{
    if (len == STORE_VRECORD_V1_BYTES && p[0] == 1)
        r->tick = version;
    else if (len == STORE_VRECORD_BYTES && p[0] == VRECORD_FORMAT)
        r->tick = store_get_be64(p + 21 + STORE_DIGEST_BYTES);
    else
        return -1;
    r->commit_seq = store_get_be64(p + 1);
    r->n_writes = get_be32(p + 9);
    r->history_bytes = store_get_be64(p + 13);
    memcpy(r->digest, p + 21, STORE_DIGEST_BYTES);
    return 0;
}

/* ---- the recorded pruning policy -------------------------------------- */

void store_policy_encode(const rs_store_prune_policy *pol, uint8_t out[STORE_POLICY_BYTES])
{
    out[0] = POLICY_FORMAT;
    out[1] = (uint8_t)pol->mode;
    store_put_be64(out + 2, pol->keep_recent);
    store_put_be64(out + 10, pol->keep_every);
    store_put_be64(out + 18, pol->interval);
}

int store_policy_decode(const uint8_t *p, size_t len, rs_store_prune_policy *out)
{
    if (len != STORE_POLICY_BYTES || p[0] != POLICY_FORMAT || p[1] < RS_STORE_PRUNE_NOTHING ||
        p[1] > RS_STORE_PRUNE_CUSTOM)
        return -1;
    out->mode = (rs_store_prune_mode)p[1];
    out->keep_recent = store_get_be64(p + 2);
    out->keep_every = store_get_be64(p + 10);
    out->interval = store_get_be64(p + 18);
    return 0;
}

/* ---- history keys ------------------------------------------------------ */

int store_buf_grow(uint8_t **p, size_t *cap, size_t need)
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

size_t store_hkey_max(size_t key_len) { return 2 * key_len + STORE_HKEY_OVERHEAD; }

size_t store_hkey_bound(const uint8_t *key, size_t key_len, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < key_len; i++) {
        out[n++] = key[i];
        if (key[i] == 0x00)
            out[n++] = 0xff;
    }
    return n;
}

size_t store_hkey_encode(const uint8_t *key, size_t key_len, uint64_t version, uint8_t *out)
{
    size_t n = store_hkey_bound(key, key_len, out);
    out[n++] = 0x00;
    out[n++] = 0x01;
    store_put_be64(out + n, version);
    return n + 8;
}

/* The length of the escaped-key part (up to and including the terminator)
 * of a history key, or 0 if malformed. */
static size_t hkey_prefix_len(const uint8_t *hkey, size_t hkey_len)
{
    if (hkey_len < STORE_HKEY_OVERHEAD)
        return 0;
    size_t end = hkey_len - 8;
    if (hkey[end - 2] != 0x00 || hkey[end - 1] != 0x01)
        return 0;
    return end;
}

int store_hkey_decode(const uint8_t *hkey, size_t hkey_len, uint8_t *ukey, size_t *ukey_len, uint64_t *version)
{
    size_t end = hkey_prefix_len(hkey, hkey_len);
    if (end == 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < end - 2; i++) {
        ukey[n++] = hkey[i];
        if (hkey[i] == 0x00) {
            if (hkey[i + 1] != 0xff)
                return -1;
            i++;
        }
    }
    *ukey_len = n;
    *version = store_get_be64(hkey + end);
    return 0;
}

/* ---- change lists ------------------------------------------------------ */

size_t store_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static int varint_get(struct store_clist *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int store_clist_next(struct store_clist *c, const uint8_t **key, size_t *key_len)
{
    if (c->p == c->end)
        return 0;
    uint64_t len = 0;
    if (varint_get(c, &len) != 0 || len > (uint64_t)(c->end - c->p))
        return -1;
    *key = c->p;
    *key_len = (size_t)len;
    c->p += len;
    return 1;
}
