/*
 * The commit digest as docs/format.md ("Commit digest") specifies it,
 * written from the spec for the tests to check the store against: BLAKE2b
 * -256 of the domain, the version, the previous digest, the number of
 * writes, then each write in key order.
 */
#ifndef RS_TEST_COMMIT_DIGEST_H
#define RS_TEST_COMMIT_DIGEST_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

struct spec_write {
    const uint8_t *key;
    size_t         key_len;
    const uint8_t *val;     /* NULL: a delete */
    size_t         val_len;
};

static inline void spec_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* writes: the write set, sorted by key, one write per key. */
static inline void spec_digest(uint64_t version, const uint8_t prev[32], const struct spec_write *w, size_t n,
                               uint8_t out[32])
{
    crypto_generichash_state h;
    uint8_t be[8];
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)"RSCOMMIT\x01", 9);
    spec_be(be, version, 8);
    crypto_generichash_update(&h, be, 8);
    crypto_generichash_update(&h, prev, 32);
    spec_be(be, n, 8);
    crypto_generichash_update(&h, be, 8);
    for (size_t i = 0; i < n; i++) {
        uint8_t op = w[i].val != NULL ? 1 : 0;
        crypto_generichash_update(&h, &op, 1);
        spec_be(be, w[i].key_len, 4);
        crypto_generichash_update(&h, be, 4);
        crypto_generichash_update(&h, w[i].key, w[i].key_len);
        if (w[i].val == NULL)
            continue;
        spec_be(be, w[i].val_len, 4);
        crypto_generichash_update(&h, be, 4);
        crypto_generichash_update(&h, w[i].val, w[i].val_len);
    }
    crypto_generichash_final(&h, out, 32);
}

#endif
