/*
 * Read stage: unzstd. Decodes the zstd runs and passes raw runs through,
 * yielding the plain tar stream. A raw chunk inside an unfinished zstd
 * frame, or a stream ending inside one, is corruption. The decoder's window
 * is bounded so a crafted frame cannot make it allocate without limit.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "snapshot/snapshot_int.h"

/* Largest zstd window accepted: 128 MiB, far above what the sealer uses. */
#define UNZSTD_WINDOW_LOG_MAX 27

struct unzstd_stage {
    struct rstage base;
    ZSTD_DCtx *dctx;
    uint8_t   *in;
    size_t     in_cap;
    ZSTD_inBuffer inb;
    enum chunk_kind in_kind;
    int        frame_open;   /* the decoder is inside a frame */
    int        out_full;     /* the last call filled the output: more may be pending */
};

static rs_code refill(struct unzstd_stage *u, int *end, rs_err *err)
{
    size_t n = 0;
    enum chunk_kind kind = CHUNK_RAW;
    rs_code rc = u->base.prev->ops->read(u->base.prev, u->in, u->in_cap, &n, &kind, err);
    if (rc != RS_OK)
        return rc;
    if (n == 0) {
        if (u->frame_open)
            return rs_err_set(err, RS_E_CORRUPT, "archive ends inside a zstd frame");
        *end = 1;
        return RS_OK;
    }
    if (kind == CHUNK_RAW && u->frame_open)
        return rs_err_set(err, RS_E_CORRUPT, "archive has a raw chunk inside a zstd frame");
    u->in_kind = kind;
    u->inb = (ZSTD_inBuffer){u->in, n, 0};
    return RS_OK;
}

static rs_code decode(struct unzstd_stage *u, uint8_t *buf, size_t cap, size_t *got, rs_err *err)
{
    ZSTD_outBuffer o = {buf, cap, 0};
    size_t r = ZSTD_decompressStream(u->dctx, &o, &u->inb);
    if (ZSTD_isError(r))
        return rs_err_set(err, RS_E_CORRUPT, "archive: zstd decoding failed: %s", ZSTD_getErrorName(r));
    u->frame_open = r != 0;
    u->out_full = o.pos == o.size;
    *got = o.pos;
    return RS_OK;
}

static rs_code unzstd_read(struct rstage *st, uint8_t *buf, size_t cap, size_t *got, enum chunk_kind *kind,
                           rs_err *err)
{
    struct unzstd_stage *u = (struct unzstd_stage *)st;
    *kind = CHUNK_RAW;
    *got = 0;
    for (;;) {
        if (u->inb.pos < u->inb.size && u->in_kind == CHUNK_RAW) {
            size_t n = u->inb.size - u->inb.pos < cap ? u->inb.size - u->inb.pos : cap;
            memcpy(buf, u->in + u->inb.pos, n);
            u->inb.pos += n;
            *got = n;
            return RS_OK;
        }
        if ((u->inb.pos < u->inb.size || u->out_full) && u->in_kind == CHUNK_ZSTD) {
            rs_code rc = decode(u, buf, cap, got, err);
            if (rc != RS_OK || *got > 0)
                return rc;
            continue;
        }
        int end = 0;
        rs_code rc = refill(u, &end, err);
        if (rc != RS_OK || end)
            return rc;
    }
}

static void unzstd_destroy(struct rstage *st)
{
    struct unzstd_stage *u = (struct unzstd_stage *)st;
    ZSTD_freeDCtx(u->dctx);
    free(u->in);
    free(u);
}

static const struct rstage_ops unzstd_ops = {
    .name = "unzstd",
    .read = unzstd_read,
    .destroy = unzstd_destroy,
};

rs_code snapshot_unzstd_stage_create(struct rstage *prev, struct rstage **out, rs_err *err)
{
    struct unzstd_stage *u = calloc(1, sizeof *u);
    if (u == NULL)
        return rs_err_set(err, RS_E_NOMEM, "unzstd: out of memory");
    u->base.ops = &unzstd_ops;
    u->base.prev = prev;
    u->in_cap = ZSTD_DStreamInSize();
    u->in = malloc(u->in_cap);
    u->dctx = ZSTD_createDCtx();
    if (u->in == NULL || u->dctx == NULL) {
        u->base.prev = NULL;
        unzstd_destroy(&u->base);
        return rs_err_set(err, RS_E_NOMEM, "unzstd: out of memory");
    }
    ZSTD_DCtx_setParameter(u->dctx, ZSTD_d_windowLogMax, UNZSTD_WINDOW_LOG_MAX);
    *out = &u->base;
    return RS_OK;
}
