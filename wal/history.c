/*
 * History ids: a term that changes on promotion, kept with the data in the
 * meta record "wal.history" (newest first: id and the first sequence of
 * each history). A database never promoted has one history, its database
 * id, from sequence 0. A follower may follow a primary whose lineage holds
 * the follower's history, as long as the follower has nothing past the
 * point where the primary's next history began: else it holds writes the
 * primary never saw (an old primary after a failover), and must resync.
 */
#include <stdio.h>
#include <string.h>

#include "common/endian.h"
#include "wal/wal_int.h"

/* Record layout, see docs/format.md; changing it breaks existing databases. */
#define HISTORY_NAME    "wal.history"
#define HISTORY_VERSION 1
#define ENTRY_BYTES     (RS_WAL_HISTORY_BYTES + 8)

static rs_code decode(const rs_store_value *v, wal_history *h, rs_err *err)
{
    if (v->len < 2 || v->data[0] != HISTORY_VERSION || v->data[1] == 0 || v->data[1] > WAL_HISTORY_MAX ||
        v->len != 2 + (size_t)v->data[1] * ENTRY_BYTES)
        return rs_err_set(err, RS_E_CORRUPT, "history record of %zu bytes is malformed", v->len);
    h->n = v->data[1];
    for (size_t i = 0; i < h->n; i++) {
        const uint8_t *e = v->data + 2 + i * ENTRY_BYTES;
        memcpy(h->e[i].id, e, RS_WAL_HISTORY_BYTES);
        h->e[i].start_seq = rs_le64_get(e + RS_WAL_HISTORY_BYTES);
    }
    return RS_OK;
}

rs_code wal_history_load(rs_store *store, wal_history *h, rs_err *err)
{
    memset(h, 0, sizeof *h);
    rs_store_value v = {0};
    rs_code rc = rs_store_meta_get(store, HISTORY_NAME, &v, err);
    if (rc == RS_E_NOTFOUND) {
        h->n = 1;
        rs_store_id(store, h->e[0].id);
        return RS_OK;
    }
    if (rc != RS_OK)
        return rc;
    rc = decode(&v, h, err);
    rs_store_value_release(&v);
    return rc;
}

rs_code rs_wal_history_current(rs_store *store, uint8_t out[RS_WAL_HISTORY_BYTES], rs_err *err)
{
    wal_history h;
    rs_code rc = wal_history_load(store, &h, err);
    if (rc == RS_OK)
        memcpy(out, h.e[0].id, RS_WAL_HISTORY_BYTES);
    return rc;
}

rs_code wal_history_promote(rs_store *store, rs_err *err)
{
    wal_history h;
    rs_code rc = wal_history_load(store, &h, err);
    if (rc != RS_OK)
        return rc;
    size_t keep = h.n < WAL_HISTORY_MAX ? h.n : WAL_HISTORY_MAX - 1;
    memmove(&h.e[1], &h.e[0], keep * sizeof h.e[0]);
    h.n = keep + 1;
    randombytes_buf(h.e[0].id, RS_WAL_HISTORY_BYTES);
    /* this record's own batch is the first of the new history */
    h.e[0].start_seq = rs_store_latest_seq(store) + 1;
    uint8_t buf[2 + WAL_HISTORY_MAX * ENTRY_BYTES];
    buf[0] = HISTORY_VERSION;
    buf[1] = (uint8_t)h.n;
    for (size_t i = 0; i < h.n; i++) {
        memcpy(buf + 2 + i * ENTRY_BYTES, h.e[i].id, RS_WAL_HISTORY_BYTES);
        rs_le64_put(buf + 2 + i * ENTRY_BYTES + RS_WAL_HISTORY_BYTES, h.e[i].start_seq);
    }
    return rs_store_meta_put(store, HISTORY_NAME, buf, 2 + h.n * ENTRY_BYTES, err);
}

int wal_history_admits(const wal_history *h, const uint8_t id[RS_WAL_HISTORY_BYTES], uint64_t latest_seq, char *msg,
                       size_t cap)
{
    char ours[2 * RS_WAL_HISTORY_BYTES + 1], theirs[2 * RS_WAL_HISTORY_BYTES + 1];
    rs_hex_encode(h->e[0].id, RS_WAL_HISTORY_BYTES, ours, sizeof ours);
    rs_hex_encode(id, RS_WAL_HISTORY_BYTES, theirs, sizeof theirs);
    for (size_t i = 0; i < h->n; i++) {
        if (memcmp(h->e[i].id, id, RS_WAL_HISTORY_BYTES) != 0)
            continue;
        if (i == 0 || latest_seq < h->e[i - 1].start_seq)
            return 0;
        snprintf(msg, cap,
                 "diverged history: the follower has seqs up to %llu on history %.12s, but history %.12s took over "
                 "at seq %llu; it holds writes this primary never had and must be rebuilt",
                 (unsigned long long)latest_seq, theirs, ours, (unsigned long long)h->e[i - 1].start_seq);
        return -1;
    }
    snprintf(msg, cap, "diverged history: the follower's history %.12s is not in this primary's (current %.12s)",
             theirs, ours);
    return -1;
}
