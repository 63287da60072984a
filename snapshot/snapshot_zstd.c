/*
 * Write stage: zstd. Bytes marked CHUNK_ZSTD are compressed (level and
 * worker threads configurable); bytes marked CHUNK_RAW pass through
 * untouched, because RocksDB compressed them already and compressing them
 * again costs CPU for nothing. Each run of compressed bytes ends with a
 * whole zstd frame, so a reader can switch back to raw at that point.
 */
#include <stdlib.h>
#include <zstd.h>

#include "snapshot/snapshot_int.h"

struct zstd_stage {
    struct wstage base;
    ZSTD_CCtx *cctx;
    int        in_frame;
    uint8_t   *out;
    size_t     out_cap;
};

static rs_code emit(struct zstd_stage *z, size_t n, rs_err *err)
{
    if (n == 0)
        return RS_OK;
    return z->base.next->ops->write(z->base.next, z->out, n, CHUNK_ZSTD, err);
}

static rs_code end_frame(struct zstd_stage *z, rs_err *err)
{
    ZSTD_inBuffer in = {NULL, 0, 0};
    size_t left;
    do {
        ZSTD_outBuffer o = {z->out, z->out_cap, 0};
        left = ZSTD_compressStream2(z->cctx, &o, &in, ZSTD_e_end);
        if (ZSTD_isError(left))
            return rs_err_set(err, RS_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(left));
        if (emit(z, o.pos, err) != RS_OK)
            return err != NULL ? err->code : RS_E_IO;
    } while (left != 0);
    z->in_frame = 0;
    return RS_OK;
}

static rs_code zstd_write(struct wstage *st, const uint8_t *p, size_t len, enum chunk_kind kind, rs_err *err)
{
    struct zstd_stage *z = (struct zstd_stage *)st;
    if (kind == CHUNK_RAW) {
        if (z->in_frame && end_frame(z, err) != RS_OK)
            return err != NULL ? err->code : RS_E_IO;
        return st->next->ops->write(st->next, p, len, CHUNK_RAW, err);
    }
    z->in_frame = 1;
    ZSTD_inBuffer in = {p, len, 0};
    while (in.pos < in.size) {
        ZSTD_outBuffer o = {z->out, z->out_cap, 0};
        size_t r = ZSTD_compressStream2(z->cctx, &o, &in, ZSTD_e_continue);
        if (ZSTD_isError(r))
            return rs_err_set(err, RS_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
        if (emit(z, o.pos, err) != RS_OK)
            return err != NULL ? err->code : RS_E_IO;
    }
    return RS_OK;
}

static rs_code zstd_finish(struct wstage *st, rs_err *err)
{
    struct zstd_stage *z = (struct zstd_stage *)st;
    if (z->in_frame && end_frame(z, err) != RS_OK)
        return err != NULL ? err->code : RS_E_IO;
    return st->next->ops->finish(st->next, err);
}

static void zstd_destroy(struct wstage *st)
{
    struct zstd_stage *z = (struct zstd_stage *)st;
    ZSTD_freeCCtx(z->cctx);
    free(z->out);
    free(z);
}

static const struct wstage_ops zstd_ops = {
    .name = "zstd",
    .write = zstd_write,
    .finish = zstd_finish,
    .destroy = zstd_destroy,
};

/* A worker's job: zstd's default (4 windows, 8 MiB at level 3) multiplied
 * by its in-flight buffers made up most of the sealer's memory; 2 MiB jobs
 * keep both cores busy and the total small. */
#define ZSTD_JOB_BYTES (2048u * 1024)

rs_code snapshot_zstd_stage_create(int level, int threads, struct wstage *next, struct wstage **out, rs_err *err)
{
    struct zstd_stage *z = calloc(1, sizeof *z);
    if (z == NULL)
        return rs_err_set(err, RS_E_NOMEM, "zstd: out of memory");
    z->base.ops = &zstd_ops;
    z->base.next = next;
    z->out_cap = ZSTD_CStreamOutSize();
    z->out = malloc(z->out_cap);
    z->cctx = ZSTD_createCCtx();
    if (z->out == NULL || z->cctx == NULL) {
        zstd_destroy(&z->base);
        return rs_err_set(err, RS_E_NOMEM, "zstd: out of memory");
    }
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 0); /* chunks are authenticated already */
    if (threads > 1 && !ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_nbWorkers, threads)))
        ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_jobSize, ZSTD_JOB_BYTES);
    *out = &z->base;
    return RS_OK;
}
