/*
 * The fault-injecting store, for tests of what is built on object stores:
 * it passes every call to the store it wraps, except the chosen calls of
 * one operation, which fail with the chosen code (a GET after delivering
 * some bytes, as a connection reset mid-body would). It sits below the
 * generic layer, so retries and their limits are exercised for real.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore_int.h"

struct fault_be {
    rs_objstore      *inner;
    rs_objstore_fault f;
    _Atomic uint64_t  calls[RS_OBJSTORE_OP__COUNT];
};

/* Counts a call of op; non-zero when it is one to fail. */
static int hit(struct fault_be *fb, rs_objstore_op op)
{
    uint64_t n = atomic_fetch_add(&fb->calls[op], 1) + 1;
    return op == fb->f.op && n >= fb->f.nth && (fb->f.times == 0 || n < (uint64_t)fb->f.nth + fb->f.times);
}

static rs_code inject(struct fault_be *fb, rs_objstore_op op, const char *key, rs_err *err)
{
    return rs_err_set(err, fb->f.code, "injected fault: %s call %llu on '%s'", objstore_op_name(op),
                      (unsigned long long)atomic_load(&fb->calls[op]), key);
}

#define INNER(fb) ((fb)->inner->ops)
/* Fails the call if it is one to fail, else passes it on (fb in scope). */
#define PASS(op, key, call)                                                         \
    do {                                                                            \
        if (hit(fb, op))                                                            \
            return inject(fb, op, key, err);                                        \
        return call;                                                                \
    } while (0)

static rs_code fault_put(void *be, const char *key, const uint8_t *p, size_t len, int if_absent,
                         rs_objstore_info *info, rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_PUT, key, INNER(fb)->put(fb->inner->be, key, p, len, if_absent, info, err));
}

static rs_code fault_mpu_begin(void *be, const char *key, char **upload_id, rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_MPU_BEGIN, key, INNER(fb)->mpu_begin(fb->inner->be, key, upload_id, err));
}

static rs_code fault_mpu_part(void *be, const char *key, const char *upload_id, unsigned number, uint64_t offset,
                              const uint8_t *p, size_t len, char etag[RS_OBJSTORE_ETAG_MAX], rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_MPU_PART, key,
         INNER(fb)->mpu_part(fb->inner->be, key, upload_id, number, offset, p, len, etag, err));
}

static rs_code fault_mpu_complete(void *be, const char *key, const char *upload_id,
                                  const struct objstore_part *parts, unsigned n_parts, rs_objstore_info *info,
                                  rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_MPU_COMPLETE, key,
         INNER(fb)->mpu_complete(fb->inner->be, key, upload_id, parts, n_parts, info, err));
}

static rs_code fault_mpu_abort(void *be, const char *key, const char *upload_id, rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_MPU_ABORT, key, INNER(fb)->mpu_abort(fb->inner->be, key, upload_id, err));
}

static rs_code fault_mpu_list(void *be, const char *prefix, struct objstore_page *page, rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_MPU_LIST, prefix, INNER(fb)->mpu_list(fb->inner->be, prefix, page, err));
}

/* A sink that lets after_bytes through, then fails as a reset would. */
struct cut_sink {
    const rs_objstore_sink *to;
    uint64_t left;
    struct fault_be *fb;
    const char *key;
};

static rs_code cut_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    struct cut_sink *c = arg;
    size_t n = len < c->left ? len : (size_t)c->left;
    rs_code rc = n > 0 ? c->to->write(c->to->arg, p, n, err) : RS_OK;
    c->left -= n;
    if (rc == RS_OK && n < len)
        rc = inject(c->fb, RS_OBJSTORE_OP_GET, c->key, err);
    return rc;
}

static rs_code fault_get(void *be, const char *key, uint64_t off, uint64_t len, const char *if_match,
                         const rs_objstore_sink *to, rs_objstore_info *info, rs_err *err)
{
    struct fault_be *fb = be;
    if (!hit(fb, RS_OBJSTORE_OP_GET))
        return INNER(fb)->get(fb->inner->be, key, off, len, if_match, to, info, err);
    if (fb->f.after_bytes == 0)
        return inject(fb, RS_OBJSTORE_OP_GET, key, err);
    struct cut_sink c = {.to = to, .left = fb->f.after_bytes, .fb = fb, .key = key};
    rs_objstore_sink cut = {.write = cut_write, .arg = &c};
    rs_code rc = INNER(fb)->get(fb->inner->be, key, off, len, if_match, &cut, info, err);
    /* a range shorter than after_bytes ends before the cut: fail anyway */
    return rc == RS_OK ? inject(fb, RS_OBJSTORE_OP_GET, key, err) : rc;
}

static rs_code fault_head(void *be, const char *key, rs_objstore_info *info, rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_HEAD, key, INNER(fb)->head(fb->inner->be, key, info, err));
}

static rs_code fault_list(void *be, const char *prefix, struct objstore_page *page, rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_LIST, prefix, INNER(fb)->list(fb->inner->be, prefix, page, err));
}

static rs_code fault_remove(void *be, const char *key, rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_REMOVE, key, INNER(fb)->remove(fb->inner->be, key, err));
}

static rs_code fault_remove_many(void *be, const char *const *keys, size_t n, rs_err *err)
{
    struct fault_be *fb = be;
    PASS(RS_OBJSTORE_OP_REMOVE_MANY, keys[0], INNER(fb)->remove_many(fb->inner->be, keys, n, err));
}

static void fault_destroy(void *be)
{
    struct fault_be *fb = be;
    rs_objstore_close(fb->inner);
    free(fb);
}

static const struct rs_objstore_ops fault_ops = {
    .name = "fault",
    .put = fault_put,
    .mpu_begin = fault_mpu_begin,
    .mpu_part = fault_mpu_part,
    .mpu_complete = fault_mpu_complete,
    .mpu_abort = fault_mpu_abort,
    .mpu_list = fault_mpu_list,
    .get = fault_get,
    .head = fault_head,
    .list = fault_list,
    .remove = fault_remove,
    .remove_many = fault_remove_many,
    .destroy = fault_destroy,
};

rs_code rs_objstore_fault_wrap(rs_objstore *inner, const rs_objstore_fault *fault, rs_objstore **out, rs_err *err)
{
    if (fault->op >= RS_OBJSTORE_OP__COUNT || fault->nth == 0 || fault->code == RS_OK) {
        rs_objstore_close(inner);
        return rs_err_set(err, RS_E_INVALID, "fault: an operation, nth >= 1 and a failure code are needed");
    }
    struct fault_be *fb = calloc(1, sizeof *fb);
    char *describe = NULL;
    if (fb == NULL || asprintf(&describe, "fault(%s)", inner->describe) < 0) {
        free(fb);
        rs_objstore_close(inner);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    fb->inner = inner;
    fb->f = *fault;
    unsigned features = inner->features;
    rs_code rc = objstore_make(&fault_ops, fb, describe, &inner->opt, out, err);
    if (rc == RS_OK)
        (*out)->features = features; /* the wrapped store's abilities */
    return rc;
}

uint64_t rs_objstore_fault_calls(const rs_objstore *s, rs_objstore_op op)
{
    if (s->ops != &fault_ops || op >= RS_OBJSTORE_OP__COUNT)
        return 0;
    const struct fault_be *fb = s->be;
    return atomic_load(&fb->calls[op]);
}
