/*
 * Read stage: decrypt. Reads the header and recovers the data key (wrong
 * key, wrong passphrase and public-key-only are refused here, before any
 * chunk), then opens chunk after chunk, bounding each length before reading
 * it. A stream that ends before its FINAL chunk is "archive truncated";
 * bytes after it are refused too.
 */
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot_int.h"

#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

struct decrypt_stage {
    struct rstage base;
    crypto_secretstream_xchacha20poly1305_state st;
    struct seal_header h;
    uint8_t *cipher;
    uint8_t *plain;
    size_t   plain_len;  /* kind byte + payload of the current chunk */
    size_t   pos;        /* next payload byte to hand out (from 1) */
    uint64_t n_chunks;
    uint64_t offset;     /* archive bytes consumed */
    int      final;
};

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads exactly n bytes unless the source ends first (*got < n). */
static rs_code read_full(struct rstage *prev, uint8_t *buf, size_t n, size_t *got, rs_err *err)
{
    *got = 0;
    while (*got < n) {
        size_t k = 0;
        enum chunk_kind kind;
        rs_code rc = prev->ops->read(prev, buf + *got, n - *got, &k, &kind, err);
        if (rc != RS_OK)
            return rc;
        if (k == 0)
            break;
        *got += k;
    }
    return RS_OK;
}

static rs_code truncated(struct decrypt_stage *d, rs_err *err)
{
    return rs_err_set(err, RS_E_CORRUPT, "archive truncated: it ends after %llu bytes, inside or before chunk %llu, "
                      "without its final chunk", (unsigned long long)d->offset, (unsigned long long)d->n_chunks);
}

/* After FINAL the source must be at its end. */
static rs_code expect_end(struct decrypt_stage *d, rs_err *err)
{
    uint8_t b;
    size_t got = 0;
    rs_code rc = read_full(d->base.prev, &b, 1, &got, err);
    if (rc == RS_OK && got != 0)
        rc = rs_err_set(err, RS_E_CORRUPT, "archive has bytes after its final chunk (at byte %llu)",
                        (unsigned long long)d->offset);
    return rc;
}

static rs_code next_chunk(struct decrypt_stage *d, rs_err *err)
{
    uint8_t len4[4];
    size_t got = 0;
    rs_code rc = read_full(d->base.prev, len4, 4, &got, err);
    if (rc != RS_OK)
        return rc;
    if (got < 4)
        return truncated(d, err);
    uint32_t clen = get_le32(len4);
    if (clen < 1 + ABYTES || clen > 1 + d->h.chunk_bytes + ABYTES)
        return rs_err_set(err, RS_E_CORRUPT, "archive chunk %llu at byte %llu: length %u outside %u..%u: the "
                          "archive is damaged", (unsigned long long)d->n_chunks, (unsigned long long)d->offset, clen,
                          1 + ABYTES, 1 + d->h.chunk_bytes + ABYTES);
    if ((rc = read_full(d->base.prev, d->cipher, clen, &got, err)) != RS_OK)
        return rc;
    if (got < clen)
        return truncated(d, err);
    uint8_t ad[SEAL_HEADER_MAX + 4];
    size_t ad_len = 0;
    if (d->n_chunks == 0) {
        memcpy(ad, d->h.raw, d->h.len);
        ad_len = d->h.len;
    }
    memcpy(ad + ad_len, len4, 4);
    unsigned char tag = 0;
    unsigned long long plen = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&d->st, d->plain, &plen, &tag, d->cipher, clen, ad, ad_len + 4) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "archive authentication failed at chunk %llu (byte %llu): it is damaged "
                          "or was tampered with", (unsigned long long)d->n_chunks, (unsigned long long)d->offset);
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE && tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        return rs_err_set(err, RS_E_CORRUPT, "archive chunk %llu has unexpected tag %u", (unsigned long long)d->n_chunks, tag);
    if (d->plain[0] != CHUNK_RAW && d->plain[0] != CHUNK_ZSTD)
        return rs_err_set(err, RS_E_CORRUPT, "archive chunk %llu has unknown kind %u", (unsigned long long)d->n_chunks,
                          d->plain[0]);
    d->offset += 4 + clen;
    d->n_chunks++;
    d->plain_len = (size_t)plen;
    d->pos = 1;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        d->final = 1;
        return expect_end(d, err);
    }
    return RS_OK;
}

static rs_code decrypt_read(struct rstage *st, uint8_t *buf, size_t cap, size_t *got, enum chunk_kind *kind,
                            rs_err *err)
{
    struct decrypt_stage *d = (struct decrypt_stage *)st;
    *got = 0;
    while (d->pos >= d->plain_len) {
        if (d->final)
            return RS_OK;
        rs_code rc = next_chunk(d, err);
        if (rc != RS_OK)
            return rc;
    }
    size_t n = d->plain_len - d->pos < cap ? d->plain_len - d->pos : cap;
    memcpy(buf, d->plain + d->pos, n);
    d->pos += n;
    *got = n;
    *kind = (enum chunk_kind)d->plain[0];
    return RS_OK;
}

static void decrypt_destroy(struct rstage *st)
{
    struct decrypt_stage *d = (struct decrypt_stage *)st;
    free(d->cipher);
    free(d->plain);
    sodium_memzero(&d->st, sizeof d->st);
    free(d);
}

static const struct rstage_ops decrypt_ops = {
    .name = "decrypt",
    .read = decrypt_read,
    .destroy = decrypt_destroy,
};

static rs_code read_header(struct decrypt_stage *d, rs_err *err)
{
    uint8_t raw[SEAL_HEADER_MAX];
    size_t got = 0, need = 0;
    rs_code rc = read_full(d->base.prev, raw, SEAL_FIXED_LEN, &got, err);
    if (rc != RS_OK)
        return rc;
    if (got == 0)
        return rs_err_set(err, RS_E_CORRUPT, "archive is empty");
    if (got < SEAL_FIXED_LEN)
        return rs_err_set(err, RS_E_CORRUPT, "archive truncated: %zu bytes, shorter than its header", got);
    if ((rc = snapshot_seal_header_length(raw, &need, err)) != RS_OK)
        return rc;
    size_t more = 0;
    if ((rc = read_full(d->base.prev, raw + got, need - got, &more, err)) != RS_OK)
        return rc;
    if (got + more < need)
        return rs_err_set(err, RS_E_CORRUPT, "archive truncated: %zu bytes, shorter than its header", got + more);
    d->offset = need;
    return snapshot_seal_header_decode(raw, need, &d->h, err);
}

rs_code snapshot_decrypt_stage_create(struct rstage *prev, const rs_snapshot_key *key, struct seal_header *h_out,
                                      uint8_t dk[KEY_BYTES], struct rstage **out, rs_err *err)
{
    struct decrypt_stage *d = calloc(1, sizeof *d);
    if (d == NULL)
        return rs_err_set(err, RS_E_NOMEM, "decrypt: out of memory");
    d->base.ops = &decrypt_ops;
    d->base.prev = prev;
    rs_code rc = read_header(d, err);
    if (rc == RS_OK)
        rc = snapshot_seal_header_open(&d->h, key, dk, err);
    if (rc == RS_OK) {
        d->cipher = malloc(1 + d->h.chunk_bytes + ABYTES);
        d->plain = malloc(1 + d->h.chunk_bytes);
        if (d->cipher == NULL || d->plain == NULL)
            rc = rs_err_set(err, RS_E_NOMEM, "decrypt: out of memory for %u-byte chunks", d->h.chunk_bytes);
    }
    if (rc == RS_OK && crypto_secretstream_xchacha20poly1305_init_pull(&d->st, d->h.stream, dk) != 0)
        rc = rs_err_set(err, RS_E_CORRUPT, "archive header: invalid stream header");
    if (rc != RS_OK) {
        d->base.prev = NULL;
        decrypt_destroy(&d->base);
        return rc;
    }
    if (h_out != NULL)
        *h_out = d->h;
    *out = &d->base;
    return RS_OK;
}
