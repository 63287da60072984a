/*
 * Read stage: in, the first one. Pulls archive bytes from the caller's
 * source, counting and hashing them (XXH3-128) so the archive can be
 * checked against a detached manifest. Also destroys read chains.
 */
#include <stdlib.h>

#include "snapshot/snapshot_int.h"

struct in_stage {
    struct rstage base;
    rs_snapshot_source src;
    struct content_hash hash;
    uint64_t bytes;
    rs_snapshot_progress_fn progress;
    void *progress_arg;
};

static rs_code in_read(struct rstage *st, uint8_t *buf, size_t cap, size_t *got, enum chunk_kind *kind, rs_err *err)
{
    struct in_stage *in = (struct in_stage *)st;
    *kind = CHUNK_RAW;
    rs_code rc = in->src.read(in->src.arg, buf, cap, got, err);
    if (rc != RS_OK)
        return rc;
    if (*got > cap)
        return rs_err_set(err, RS_E_INTERNAL, "archive source returned %zu bytes for a %zu-byte buffer", *got, cap);
    snapshot_content_hash_update(&in->hash, buf, *got);
    in->bytes += *got;
    if (in->progress != NULL && *got > 0)
        in->progress(in->progress_arg, in->bytes, 0);
    return RS_OK;
}

static void in_destroy(struct rstage *st)
{
    snapshot_content_hash_release(&((struct in_stage *)st)->hash);
    free(st);
}

static const struct rstage_ops in_ops = {
    .name = "in",
    .read = in_read,
    .destroy = in_destroy,
};

rs_code snapshot_in_stage_create(const rs_snapshot_source *src, rs_snapshot_progress_fn progress, void *progress_arg,
                                 struct rstage **out, rs_err *err)
{
    struct in_stage *in = calloc(1, sizeof *in);
    if (in == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    in->base.ops = &in_ops;
    in->src = *src;
    in->progress = progress;
    in->progress_arg = progress_arg;
    if (snapshot_content_hash_init(&in->hash, err) != RS_OK) {
        free(in);
        return RS_E_NOMEM;
    }
    *out = &in->base;
    return RS_OK;
}

/* Call once, at the end: it finalises the hash. */
void snapshot_in_stage_result(struct rstage *st, uint64_t *bytes, uint8_t hash[RS_SNAPSHOT_HASH_BYTES])
{
    struct in_stage *in = (struct in_stage *)st;
    *bytes = in->bytes;
    snapshot_content_hash_final(&in->hash, hash);
}

void snapshot_rstage_chain_destroy(struct rstage *last)
{
    while (last != NULL) {
        struct rstage *prev = last->prev;
        last->ops->destroy(last);
        last = prev;
    }
}
