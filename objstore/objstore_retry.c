/*
 * Retries: every backend call runs through objstore_retry, which tries
 * again what another attempt may fix (network failures, timeouts, a busy or
 * failing server), waits a full-jitter exponential backoff between
 * attempts, and stops after a bounded number of attempts or total time.
 * Full jitter (a uniform draw up to the exponential bound) spreads the
 * retries of many clients hit by one outage instead of syncing them.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "objstore/objstore_int.h"

static const char *const op_names[RS_OBJSTORE_OP__COUNT] = {
    [RS_OBJSTORE_OP_PUT] = "put",
    [RS_OBJSTORE_OP_MPU_BEGIN] = "multipart begin",
    [RS_OBJSTORE_OP_MPU_PART] = "multipart part",
    [RS_OBJSTORE_OP_MPU_COMPLETE] = "multipart complete",
    [RS_OBJSTORE_OP_MPU_ABORT] = "multipart abort",
    [RS_OBJSTORE_OP_MPU_LIST] = "list uploads",
    [RS_OBJSTORE_OP_GET] = "get",
    [RS_OBJSTORE_OP_HEAD] = "head",
    [RS_OBJSTORE_OP_LIST] = "list",
    [RS_OBJSTORE_OP_REMOVE] = "remove",
    [RS_OBJSTORE_OP_REMOVE_MANY] = "remove many",
};

const char *objstore_op_name(rs_objstore_op op)
{
    return op < RS_OBJSTORE_OP__COUNT ? op_names[op] : "?";
}

int objstore_retryable(rs_code code)
{
    return code == RS_E_NETWORK || code == RS_E_TIMEOUT || code == RS_E_BUSY;
}

uint32_t objstore_backoff_ms(const rs_objstore_options *opt, unsigned attempt, uint64_t random)
{
    uint64_t bound = opt->retry_base_ms;
    for (unsigned i = 1; i < attempt && bound < opt->retry_max_ms; i++)
        bound *= 2;
    if (bound > opt->retry_max_ms)
        bound = opt->retry_max_ms;
    return (uint32_t)(random % (bound + 1));
}

/* splitmix64: a cheap, well-mixed sequence; jitter needs no more. */
static uint64_t next_random(rs_objstore *s)
{
    uint64_t z = atomic_fetch_add(&s->rng, 0x9e3779b97f4a7c15ull) + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Hands the last attempt's error to the caller (first error wins there). */
static rs_code give_error(rs_err *err, const rs_err *last, unsigned attempts, uint64_t elapsed_ms)
{
    if (err == NULL || err->code != RS_OK)
        return last->code;
    *err = *last;
    if (attempts > 1)
        objstore_err_append(err, " (gave up after %u attempts in %.1f s)", attempts, (double)elapsed_ms / 1000);
    return err->code;
}

rs_code objstore_retry(rs_objstore *s, rs_objstore_op op, const char *key, objstore_attempt_fn fn, void *ctx,
                       rs_err *err)
{
    uint64_t start = rs_clock_mono_ns();
    uint64_t deadline = start + (uint64_t)s->opt.retry_total_ms * 1000000;
    for (unsigned attempt = 1;; attempt++) {
        rs_err e = RS_ERR_INIT;
        objstore_count_request(s);
        rs_code rc = fn(s, ctx, attempt, &e);
        if (rc == RS_OK)
            return RS_OK;
        if (e.code == RS_OK) /* a backend that forgot its message */
            rs_err_set(&e, rc, "%s %s '%s' failed", s->ops->name, op_names[op], key);
        uint64_t now = rs_clock_mono_ns();
        uint32_t wait_ms = objstore_backoff_ms(&s->opt, attempt, next_random(s));
        if (!objstore_retryable(rc) || attempt >= s->opt.max_attempts ||
            now + (uint64_t)wait_ms * 1000000 > deadline) {
            atomic_fetch_add(&s->n_failures, 1);
            return give_error(err, &e, attempt, (now - start) / 1000000);
        }
        RS_LOG_WARN("objstore: %s key=%s attempt %u of %u failed (%s), retrying in %u ms: %s", op_names[op], key,
                    attempt, s->opt.max_attempts, rs_code_name(rc), wait_ms, e.msg);
        atomic_fetch_add(&s->n_retries, 1);
        rs_clock_sleep_us((uint64_t)wait_ms * 1000);
    }
}
