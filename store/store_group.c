/*
 * Write groups. Every chained write is stamped, chained and written under
 * the commit mutex, one RocksDB write at a time, because the chain must
 * follow the WAL's order. Concurrent writers would pass that mutex one by
 * one, and under ALWAYS pay one fsync each (RocksDB never sees two writes
 * at once, so its own write groups cannot merge them). So they queue here:
 * the first writer to find no write in progress leads, merges the batches
 * queued from the head into one (up to GROUP_MAX_BYTES) and writes it,
 * with one stamp, one chain record and, if any of them asked, one fsync,
 * before any of it is visible; then wakes the others, and the queue's new
 * head leads the next group. A lone writer writes its own batch as it is.
 * Unchained writes that wait for an fsync (ALWAYS, GROUP) come here too,
 * and get no chain record: merged, they shared each fsync better than
 * RocksDB's own write groups (store_commit.c); unchained writes under NONE
 * go to RocksDB directly.
 *
 * Each caller's batch stays whole inside one RocksDB write (atomic), in
 * queue order. A batch that changes the versioned state is written alone:
 * its versions record must be its write's first record
 * (rs_store_batch_version), and its commit sequence is predicted as the
 * next one.
 */
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "store/store_int.h"

/* The most bytes merged into one write: a group is one WAL record, one
 * replicated frame, and its writers wait for all of it. */
#define GROUP_MAX_BYTES (1u << 20)

/* A writer waiting in the queue; it lives on the writer's stack. */
struct store_wreq {
    rocksdb_writebatch_t *wb;
    size_t                len;   /* its bytes, header included */
    int                   sync;
    int                   alone; /* never merged */
    int                   done;  /* written (or failed): rc, err, seq are set */
    rs_code               rc;
    rs_err                err;
    uint64_t              seq;
    pthread_cond_t        cv;
    struct store_wreq    *next;
};

/* Under q_mu: detaches the next group from the queue's head, one that goes
 * alone or consecutive mergeable batches up to GROUP_MAX_BYTES. */
static struct store_wreq *take_group(struct store_commit *c)
{
    struct store_wreq *first = c->q_head, *last = first;
    size_t bytes = first->len;
    while (!first->alone && last->next != NULL && !last->next->alone && bytes + last->next->len <= GROUP_MAX_BYTES) {
        last = last->next;
        bytes += last->len;
    }
    c->q_head = last->next;
    if (c->q_head == NULL)
        c->q_tail = NULL;
    last->next = NULL;
    return first;
}

/* One batch holding the group's records in order. WriteBatch records are
 * self-delimiting, so it is a header with the total count, then each
 * batch's records (what RocksDB's WriteBatchInternal::Append does). NULL
 * when out of memory. */
static rocksdb_writebatch_t *merge(const struct store_wreq *g)
{
    size_t bytes = STORE_BATCH_HEADER;
    for (const struct store_wreq *r = g; r != NULL; r = r->next)
        bytes += r->len - STORE_BATCH_HEADER;
    uint8_t *rep = calloc(1, bytes);
    if (rep == NULL)
        return NULL;
    size_t off = STORE_BATCH_HEADER;
    uint32_t count = 0;
    for (const struct store_wreq *r = g; r != NULL; r = r->next) {
        size_t len = 0;
        const char *data = rocksdb_writebatch_data(r->wb, &len);
        memcpy(rep + off, data + STORE_BATCH_HEADER, len - STORE_BATCH_HEADER);
        off += len - STORE_BATCH_HEADER;
        count += (uint32_t)rocksdb_writebatch_count(r->wb);
    }
    rs_le32_put(rep + 8, count);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create_from((const char *)rep, bytes);
    free(rep);
    return wb;
}

/* Writes a group (outside q_mu) and sets every member's outcome. */
static void write_group(rs_store *s, struct store_wreq *g)
{
    int sync = 0;
    size_t n = 0;
    for (const struct store_wreq *r = g; r != NULL; r = r->next, n++)
        sync |= r->sync;
    rs_err err = RS_ERR_INIT;
    uint64_t seq = 0;
    rs_code rc;
    if (n == 1) {
        rc = store_commit_batch(s, g->wb, sync, &seq, &err);
    } else {
        rocksdb_writebatch_t *wb = merge(g);
        rc = wb == NULL ? rs_err_set(&err, RS_E_NOMEM, "write a group of %zu batches: out of memory", n)
                        : store_commit_batch(s, wb, sync, &seq, &err);
        rocksdb_writebatch_destroy(wb);
    }
    for (struct store_wreq *r = g; r != NULL; r = r->next) {
        r->rc = rc;
        r->err = err;
        r->seq = seq;
    }
}

/* Under q_mu: marks the group written and wakes its writers (they run
 * once q_mu is released, so the list can still be walked), then the new
 * head, to lead the next group. */
static void finish_group(struct store_commit *c, struct store_wreq *g, const struct store_wreq *me)
{
    for (struct store_wreq *r = g, *next; r != NULL; r = next) {
        next = r->next;
        r->done = 1;
        if (r != me)
            pthread_cond_signal(&r->cv);
    }
    c->leading = 0;
    if (c->q_head != NULL)
        pthread_cond_signal(&c->q_head->cv);
}

rs_code store_group_write(rs_store *s, rocksdb_writebatch_t *wb, int sync, uint64_t *seq_out, rs_err *err)
{
    struct store_commit *c = &s->commit;
    struct store_wreq me = {.wb = wb, .sync = sync};
    const uint8_t *rep = (const uint8_t *)rocksdb_writebatch_data(wb, &me.len);
    rs_store_version_mark mark;
    me.alone = rs_store_batch_version(s, rep, me.len, &mark, NULL) != RS_E_NOTFOUND;
    me.err = (rs_err)RS_ERR_INIT;
    pthread_cond_init(&me.cv, NULL);

    pthread_mutex_lock(&c->q_mu);
    if (c->q_tail != NULL)
        c->q_tail->next = &me;
    else
        c->q_head = &me;
    c->q_tail = &me;
    while (!me.done) {
        if (c->leading) {
            pthread_cond_wait(&me.cv, &c->q_mu);
            continue;
        }
        c->leading = 1;
        struct store_wreq *g = take_group(c);
        pthread_mutex_unlock(&c->q_mu);
        write_group(s, g);
        pthread_mutex_lock(&c->q_mu);
        finish_group(c, g, &me);
    }
    pthread_mutex_unlock(&c->q_mu);
    pthread_cond_destroy(&me.cv);

    if (me.rc != RS_OK) {
        if (err != NULL && err->code == RS_OK)
            *err = me.err;
        return me.rc;
    }
    *seq_out = me.seq;
    return RS_OK;
}
