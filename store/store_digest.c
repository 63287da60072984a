/*
 * The content digest: one BLAKE2b-256 over every key and value of the
 * user's key space (the default column family, or the state family's
 * latest version once versioned) in key order, so any two
 * databases holding the same data give the same digest whatever their files
 * look like. docs/format.md ("Content digest") is the normative definition;
 * rockstream's own meta family (the database id) is left out on purpose, so
 * a restored copy and a follower digest equal to their source.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Wire constant: changing it changes every digest ever recorded. */
static const char DIGEST_DOMAIN[] = "rockstream content digest v1";

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The hash input is gathered into a buffer first: four update calls per
 * pair cost more than the hashing itself for small keys and values. */
#define DIGEST_BUF_BYTES (64u * 1024)

struct absorber {
    crypto_generichash_state st;
    size_t  fill;
    uint8_t buf[DIGEST_BUF_BYTES];
};

static void absorb(struct absorber *a, const uint8_t *p, size_t len)
{
    if (a->fill + len > sizeof a->buf) {
        crypto_generichash_update(&a->st, a->buf, a->fill);
        a->fill = 0;
    }
    if (len > sizeof a->buf) {
        crypto_generichash_update(&a->st, p, len);
        return;
    }
    memcpy(a->buf + a->fill, p, len);
    a->fill += len;
}

/* Each field is preceded by its length, so a key/value boundary cannot
 * move without changing the digest ("ab","c" differs from "a","bc"). */
static void absorb_field(struct absorber *a, const uint8_t *p, size_t len)
{
    uint8_t n[8];
    put_le64(n, len);
    absorb(a, n, sizeof n);
    absorb(a, p, len);
}

/* A digest reads everything once: no point filling the block cache (and
 * evicting what serves reads), and large sequential reads are cheaper. */
#define DIGEST_READAHEAD_BYTES (2u * 1024 * 1024)

static rocksdb_iterator_t *open_scan(rs_store *s, const rs_store_view *view, rocksdb_readoptions_t **ro)
{
    *ro = rocksdb_readoptions_create();
    if (view != NULL)
        rocksdb_readoptions_set_snapshot(*ro, view->snap);
    rocksdb_readoptions_set_fill_cache(*ro, 0);
    rocksdb_readoptions_set_readahead_size(*ro, DIGEST_READAHEAD_BYTES);
    return rocksdb_create_iterator_cf(s->db, *ro, store_user_iter_cf(s, *ro));
}

static void digest_pairs(struct absorber *a, rocksdb_iterator_t *it, rs_store_digest_stats *counts)
{
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        absorb_field(a, k, klen);
        absorb_field(a, v, vlen);
        counts->n_pairs++;
        counts->key_bytes += klen;
        counts->value_bytes += vlen;
    }
}

rs_code rs_store_digest(rs_store *s, const rs_store_view *view, uint8_t out[RS_STORE_DIGEST_BYTES],
                        rs_store_digest_stats *stats, rs_err *err)
{
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "digest of '%s': libsodium failed to initialise", s->path);
    struct absorber *a = malloc(sizeof *a);
    if (a == NULL)
        return rs_err_set(err, RS_E_NOMEM, "digest of '%s': out of memory", s->path);
    a->fill = 0;
    crypto_generichash_init(&a->st, NULL, 0, RS_STORE_DIGEST_BYTES);
    absorb(a, (const uint8_t *)DIGEST_DOMAIN, sizeof DIGEST_DOMAIN - 1);
    rs_store_digest_stats counts = {0};
    rocksdb_readoptions_t *ro = NULL;
    rocksdb_iterator_t *it = open_scan(s, view, &ro);
    digest_pairs(a, it, &counts);
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (errptr != NULL) {
        free(a);
        return store_err_from(err, errptr, "digest", s->path);
    }
    uint8_t n[8];
    put_le64(n, counts.n_pairs);
    absorb(a, n, sizeof n);
    crypto_generichash_update(&a->st, a->buf, a->fill);
    crypto_generichash_final(&a->st, out, RS_STORE_DIGEST_BYTES);
    free(a);
    if (stats != NULL)
        *stats = counts;
    return RS_OK;
}
