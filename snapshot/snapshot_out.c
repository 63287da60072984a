/*
 * Write stage: out, the last one. Counts and hashes (XXH3-128) the
 * archive bytes for the manifest and hands them to the caller's sink.
 * Also destroys write chains.
 */
#include <stdlib.h>

#include "snapshot/snapshot_int.h"

struct out_stage {
    struct wstage base;
    rs_snapshot_sink sink;
    struct content_hash hash;
    uint64_t bytes;
};

static rs_code out_write(struct wstage *st, const uint8_t *p, size_t len, enum chunk_kind kind, rs_err *err)
{
    (void)kind;
    struct out_stage *o = (struct out_stage *)st;
    snapshot_content_hash_update(&o->hash, p, len);
    o->bytes += len;
    return o->sink.write(o->sink.arg, p, len, err);
}

static rs_code out_finish(struct wstage *st, rs_err *err)
{
    (void)st;
    (void)err;
    return RS_OK;
}

static void out_destroy(struct wstage *st)
{
    snapshot_content_hash_release(&((struct out_stage *)st)->hash);
    free(st);
}

static const struct wstage_ops out_ops = {
    .name = "out",
    .write = out_write,
    .finish = out_finish,
    .destroy = out_destroy,
};

rs_code snapshot_out_stage_create(const rs_snapshot_sink *sink, struct wstage **out, rs_err *err)
{
    struct out_stage *o = calloc(1, sizeof *o);
    if (o == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    o->base.ops = &out_ops;
    o->sink = *sink;
    if (snapshot_content_hash_init(&o->hash, err) != RS_OK) {
        free(o);
        return RS_E_NOMEM;
    }
    *out = &o->base;
    return RS_OK;
}

/* Call once, after finish: it finalises the hash. */
void snapshot_out_stage_result(struct wstage *st, uint64_t *bytes, uint8_t hash[RS_SNAPSHOT_HASH_BYTES])
{
    struct out_stage *o = (struct out_stage *)st;
    *bytes = o->bytes;
    snapshot_content_hash_final(&o->hash, hash);
}

void snapshot_wstage_chain_destroy(struct wstage *first)
{
    while (first != NULL) {
        struct wstage *next = first->next;
        first->ops->destroy(first);
        first = next;
    }
}
