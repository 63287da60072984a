/*
 * The WAL tail: one consumer's reader of a store's committed batches, in
 * order, each as a BATCH frame, with the chain value after it. It refuses
 * what a consumer cannot continue from (a gap, a batch written unchained, a
 * position inside a batch), holds a pin so the store keeps the WAL the
 * consumer still needs, and warns when the consumer nears the end of the
 * WAL budget (retention.c). Followers' sessions and the WAL archiver read
 * through it alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wal/wal_int.h"

struct rs_wal_tail {
    rs_store          *store;
    rs_store_wal_iter *it;
    rs_store_wal_pin  *pin;
    wal_retention      ret;
    char               name[WAL_NAME_MAX + 1];
    uint64_t           chain_seq;  /* the sequence chain stands at */
    uint8_t            chain[RS_WAL_CHAIN_BYTES];
    int                unchained;  /* the last read found a batch written unchained */
};

rs_code rs_wal_tail_open(rs_store *store, uint64_t from_seq, const char *name, rs_wal_tail **out, rs_err *err)
{
    if (from_seq == 0)
        return rs_err_set(err, RS_E_INVALID, "WAL tail: sequences start at 1");
    rs_wal_tail *t = calloc(1, sizeof *t);
    if (t == NULL)
        return rs_err_set(err, RS_E_NOMEM, "WAL tail: out of memory");
    t->store = store;
    t->chain_seq = from_seq - 1;
    snprintf(t->name, sizeof t->name, "%s", name != NULL ? name : "consumer");
    wal_retention_init(&t->ret, rs_store_config_get(store));
    rs_code rc = rs_store_wal_pin_add(store, from_seq, &t->pin, err);
    if (rc == RS_OK)
        rc = rs_store_wal_iter_open(store, from_seq, &t->it, err);
    if (rc != RS_OK) {
        rs_wal_tail_close(t);
        return rc;
    }
    *out = t;
    return RS_OK;
}

void rs_wal_tail_close(rs_wal_tail *t)
{
    if (t == NULL)
        return;
    rs_store_wal_iter_close(t->it);
    rs_store_wal_pin_remove(t->pin);
    free(t);
}

/* A batch a consumer can continue its chain with: chained, and not a chain
 * restart. One written while the database was not replicated
 * (rs_store_set_chained) proves nothing about what the consumer holds
 * (RS_E_GAP, with the reason). */
static rs_code check_chained(const rs_wal_frame *f, rs_err *err)
{
    static const uint8_t none[RS_WAL_CHAIN_BYTES];
    if (sodium_memcmp(f->chain, none, RS_WAL_CHAIN_BYTES) == 0)
        return rs_err_set(err, RS_E_GAP, "batch at seq %llu was written unchained, while this primary was not "
                          "replicated", (unsigned long long)f->first_seq);
    if (rs_store_chain_is_restart(f->chain))
        return rs_err_set(err, RS_E_GAP, "batch at seq %llu restarts the chain: this primary wrote unchained "
                          "(not replicated) from there", (unsigned long long)f->first_seq);
    return RS_OK;
}

rs_code rs_wal_tail_next(rs_wal_tail *t, rs_wal_frame *f, rs_err *err)
{
    uint64_t seq;
    const uint8_t *rep;
    size_t len;
    rs_code rc = rs_store_wal_iter_next(t->it, &seq, &rep, &len, err);
    if (rc == RS_OK)
        rc = rs_wal_frame_from_batch(t->store, seq, rep, len, f, err);
    if (rc == RS_OK && (rc = check_chained(f, err)) != RS_OK)
        t->unchained = 1;
    if (rc != RS_OK)
        return rc;
    t->chain_seq = f->first_seq + f->count - 1;
    memcpy(t->chain, f->chain, RS_WAL_CHAIN_BYTES);
    uint64_t latest = rs_store_latest_seq(t->store);
    wal_retention_note(&t->ret, t->store, t->name, f->commit_time_ns, len, f->count,
                       latest > t->chain_seq ? latest - t->chain_seq : 0);
    return RS_OK;
}

uint64_t rs_wal_tail_wait(rs_wal_tail *t, uint32_t timeout_ms)
{
    return rs_store_wait_for_write(t->store, rs_store_wal_iter_position(t->it) - 1, timeout_ms);
}

uint64_t rs_wal_tail_position(const rs_wal_tail *t) { return rs_store_wal_iter_position(t->it); }

void rs_wal_tail_chain(const rs_wal_tail *t, uint64_t *seq, uint8_t chain[RS_WAL_CHAIN_BYTES])
{
    *seq = t->chain_seq;
    memcpy(chain, t->chain, RS_WAL_CHAIN_BYTES);
}

void rs_wal_tail_release(rs_wal_tail *t, uint64_t seq) { rs_store_wal_pin_move(t->pin, seq); }

uint64_t rs_wal_tail_pinned(const rs_wal_tail *t) { return rs_store_wal_pin_seq(t->pin); }

int wal_tail_unchained(const rs_wal_tail *t) { return t->unchained; }
