/*
 * Write stage: encrypt. Writes the sealed-stream header, then cuts the
 * bytes it is given into chunks of at most chunk_bytes plaintext, each of
 * one kind (its first byte), and seals each with secretstream: a 4-byte
 * length, then the ciphertext. The length and, for the first chunk, the
 * whole header are authenticated as additional data; the last chunk is
 * tagged FINAL, so truncation, reordering and edits are all detected.
 */
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot_int.h"

#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

struct encrypt_stage {
    struct wstage base;
    crypto_secretstream_xchacha20poly1305_state st;
    struct seal_header h;
    size_t   chunk;     /* payload bytes per chunk */
    uint8_t *plain;     /* kind byte + payload */
    size_t   fill;      /* payload bytes in plain */
    uint8_t *cipher;    /* length + ciphertext */
    uint64_t n_chunks;
};

static void put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static rs_code push(struct encrypt_stage *e, uint8_t tag, rs_err *err)
{
    size_t clen = 1 + e->fill + ABYTES;
    uint8_t ad[SEAL_HEADER_MAX + 4];
    size_t ad_len = 4;
    put_le32(e->cipher, (uint32_t)clen);
    if (e->n_chunks == 0) {
        /* chunk 0 authenticates the header: an edited header fails here */
        memcpy(ad, e->h.raw, e->h.len);
        ad_len += e->h.len;
    }
    memcpy(ad + ad_len - 4, e->cipher, 4);
    crypto_secretstream_xchacha20poly1305_push(&e->st, e->cipher + 4, NULL, e->plain, 1 + e->fill, ad, ad_len, tag);
    e->n_chunks++;
    e->fill = 0;
    return e->base.next->ops->write(e->base.next, e->cipher, 4 + clen, CHUNK_RAW, err);
}

static rs_code encrypt_write(struct wstage *st, const uint8_t *p, size_t len, enum chunk_kind kind, rs_err *err)
{
    struct encrypt_stage *e = (struct encrypt_stage *)st;
    while (len > 0) {
        /* a full or other-kind chunk is sent only when more bytes come, so
         * the last bytes always travel in the FINAL chunk */
        if (e->fill == e->chunk || (e->fill > 0 && e->plain[0] != kind))
            if (push(e, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, err) != RS_OK)
                return err != NULL ? err->code : RS_E_IO;
        e->plain[0] = (uint8_t)kind;
        size_t n = e->chunk - e->fill < len ? e->chunk - e->fill : len;
        memcpy(e->plain + 1 + e->fill, p, n);
        e->fill += n;
        p += n;
        len -= n;
    }
    return RS_OK;
}

static rs_code encrypt_finish(struct wstage *st, rs_err *err)
{
    struct encrypt_stage *e = (struct encrypt_stage *)st;
    if (e->fill == 0)
        e->plain[0] = CHUNK_RAW;
    if (push(e, crypto_secretstream_xchacha20poly1305_TAG_FINAL, err) != RS_OK)
        return err != NULL ? err->code : RS_E_IO;
    return st->next->ops->finish(st->next, err);
}

static void encrypt_destroy(struct wstage *st)
{
    struct encrypt_stage *e = (struct encrypt_stage *)st;
    free(e->plain);
    free(e->cipher);
    sodium_memzero(&e->st, sizeof e->st);
    free(e);
}

static const struct wstage_ops encrypt_ops = {
    .name = "encrypt",
    .write = encrypt_write,
    .finish = encrypt_finish,
    .destroy = encrypt_destroy,
};

rs_code snapshot_encrypt_stage_create(const rs_snapshot_key *key, size_t chunk_bytes, struct wstage *next,
                                      uint8_t dk[KEY_BYTES], struct seal_header *header_out, struct wstage **out,
                                      rs_err *err)
{
    if (chunk_bytes == 0 || chunk_bytes > SEAL_CHUNK_MAX)
        return rs_err_set(err, RS_E_INVALID, "chunk size %zu outside 1..%u", chunk_bytes, SEAL_CHUNK_MAX);
    struct encrypt_stage *e = calloc(1, sizeof *e);
    if (e == NULL)
        return rs_err_set(err, RS_E_NOMEM, "encrypt: out of memory");
    e->base.ops = &encrypt_ops;
    e->base.next = next;
    e->chunk = chunk_bytes;
    e->plain = malloc(1 + chunk_bytes);
    e->cipher = malloc(4 + 1 + chunk_bytes + ABYTES);
    rs_code rc = e->plain != NULL && e->cipher != NULL ? RS_OK : rs_err_set(err, RS_E_NOMEM, "encrypt: out of memory");
    if (rc == RS_OK)
        rc = snapshot_seal_header_create(key, (uint32_t)chunk_bytes, &e->h, dk, err);
    if (rc == RS_OK) {
        crypto_secretstream_xchacha20poly1305_init_push(&e->st, e->h.stream, dk);
        snapshot_seal_header_encode(&e->h);
        rc = next->ops->write(next, e->h.raw, e->h.len, CHUNK_RAW, err);
    }
    if (rc != RS_OK) {
        encrypt_destroy(&e->base);
        return rc;
    }
    if (header_out != NULL)
        *header_out = e->h;
    *out = &e->base;
    return RS_OK;
}
