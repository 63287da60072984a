/*
 * Reading the committed batches back from the WAL (live and archived
 * files), for shipping to followers and archiving. RocksDB's
 * GetUpdatesSince silently starts at the next batch it still has when the
 * asked-for one is gone; this reader checks every batch's first sequence
 * against the one it expects and reports a gap instead.
 *
 * A reader that ran dry keeps its RocksDB iterator on the last batch and
 * steps it once a newer batch is committed, which re-reads the tail of the
 * current WAL file: cheap. Only when RocksDB says the tail moved to a new
 * file (TryAgain) is the iterator re-opened.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/endian.h"
#include "common/fs.h"
#include "store/store_int.h"

struct rs_store_wal_iter {
    rs_store               *store;
    rocksdb_wal_iterator_t *it;
    rocksdb_writebatch_t   *batch;    /* the batch last returned, owned */
    uint64_t                next_seq; /* where the next batch must start */
};

rs_code rs_store_wal_iter_open(rs_store *s, uint64_t from_seq, rs_store_wal_iter **out, rs_err *err)
{
    rs_store_wal_iter *w = calloc(1, sizeof *w);
    if (w == NULL)
        return rs_err_set(err, RS_E_NOMEM, "open WAL reader: out of memory");
    w->store = s;
    w->next_seq = from_seq;
    *out = w;
    return RS_OK;
}

uint64_t rs_store_wal_iter_position(const rs_store_wal_iter *w) { return w->next_seq; }

static void drop_iter(rs_store_wal_iter *w)
{
    if (w->it != NULL)
        rocksdb_wal_iter_destroy(w->it);
    w->it = NULL;
}

void rs_store_wal_iter_close(rs_store_wal_iter *w)
{
    if (w == NULL)
        return;
    if (w->batch != NULL)
        rocksdb_writebatch_destroy(w->batch);
    drop_iter(w);
    free(w);
}

/* Positions the RocksDB iterator on the batch after the last one returned.
 * Returns 1 if it is valid, 0 if dry, -1 on error, -2 when the WAL has
 * nothing at or after next_seq although the database is past it. */
static int advance(rs_store_wal_iter *w, rs_err *err)
{
    rs_store *s = w->store;
    int fresh = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (w->it == NULL) {
            /* GetUpdatesSince refuses a sequence not written yet */
            if (rocksdb_get_latest_sequence_number(s->db) < w->next_seq)
                return 0;
            char *errptr = NULL;
            w->it = rocksdb_get_updates_since(s->db, w->next_seq, NULL, &errptr);
            if (errptr != NULL) {
                w->it = NULL;
                store_err_from(err, errptr, "read WAL", s->path);
                return -1;
            }
            fresh++;
        } else {
            /* Step only when a newer batch is committed. Stepping at the
             * tail would race the next write: RocksDB then answers
             * TryAgain, and a fresh iterator re-reads the WAL file from its
             * start to find its place, on every write under load. */
            if (rocksdb_get_latest_sequence_number(s->db) < w->next_seq)
                return 0;
            rocksdb_wal_iter_next(w->it);
        }
        if (rocksdb_wal_iter_valid(w->it))
            return 1;
        char *errptr = NULL;
        rocksdb_wal_iter_status(w->it, &errptr);
        int caught_up = rocksdb_get_latest_sequence_number(s->db) < w->next_seq;
        if (errptr == NULL && caught_up)
            return 0; /* keep the iterator: the next call re-reads the file's tail */
        if (errptr != NULL)
            rocksdb_free(errptr);
        drop_iter(w);
        /* two fresh iterators in a row found nothing the database has
         * written: those batches are gone from the WAL */
        if (fresh == 2)
            return -2;
        /* else TryAgain (the tail moved to a new WAL file), or a write that
         * raced the read: a fresh iterator settles it */
    }
    return 0;
}

rs_code rs_store_wal_iter_next(rs_store_wal_iter *w, uint64_t *first_seq, const uint8_t **rep, size_t *len,
                               rs_err *err)
{
    if (w->batch != NULL) {
        rocksdb_writebatch_destroy(w->batch);
        w->batch = NULL;
    }
    int r = advance(w, err);
    if (r == -2)
        return rs_err_set(err, RS_E_GAP, "WAL of '%s' no longer holds seq %llu (latest is %llu)", w->store->path,
                          (unsigned long long)w->next_seq,
                          (unsigned long long)rocksdb_get_latest_sequence_number(w->store->db));
    if (r < 0)
        return err != NULL ? err->code : RS_E_STORE;
    if (r == 0)
        return RS_E_NOTFOUND;
    uint64_t seq = 0;
    w->batch = rocksdb_wal_iter_get_batch(w->it, &seq);
    size_t n = 0;
    const uint8_t *data = (const uint8_t *)rocksdb_writebatch_data(w->batch, &n);
    if (seq < w->next_seq) {
        /* a reader that stands inside a batch of this WAL cannot have
         * applied that batch whole: its batches are not this database's */
        uint64_t want = w->next_seq;
        drop_iter(w);
        return rs_err_set(err, RS_E_CORRUPT,
                          "WAL of '%s' has no batch starting at seq %llu: it falls inside the batch at seq %llu, "
                          "so whoever stands at seq %llu holds other batches than this database",
                          w->store->path, (unsigned long long)want, (unsigned long long)seq,
                          (unsigned long long)want - 1);
    }
    if (seq != w->next_seq) {
        uint64_t want = w->next_seq;
        drop_iter(w);
        return rs_err_set(err, RS_E_GAP,
                          "WAL of '%s' jumps from seq %llu to %llu: the batches between are no longer kept",
                          w->store->path, (unsigned long long)want, (unsigned long long)seq);
    }
    uint32_t count = n >= STORE_BATCH_HEADER ? rs_le32_get(data + 8) : 0;
    w->next_seq = seq + (count == 0 ? 1 : count);
    *first_seq = seq;
    *rep = data;
    *len = n;
    return RS_OK;
}

/* ---- disk use -------------------------------------------------------- */

static int is_wal_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".log") == 0 && name[0] >= '0' && name[0] <= '9';
}

static uint64_t wal_bytes_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (is_wal_name(e->d_name) && fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

rs_code rs_store_wal_disk_bytes(rs_store *s, uint64_t *out, rs_err *err)
{
    if (s->mem_env != NULL) {
        *out = 0;
        return RS_OK;
    }
    char *archive = NULL;
    if (asprintf(&archive, "%s/archive", s->path) < 0)
        return rs_err_set(err, RS_E_NOMEM, "measure WAL of '%s': out of memory", s->path);
    *out = wal_bytes_in(s->path) + wal_bytes_in(archive);
    free(archive);
    return RS_OK;
}
