/* Helpers of the objstore tests; see obj_fixture.h. */
#include "objstore/obj_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib/testlib.h"

uint8_t *obj_pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n > 0 ? n : 1);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (uint8_t)x;
    }
    return p;
}

rs_code obj_collect_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    struct obj_collect *c = arg;
    if (c->fail_with != 0)
        return rs_err_set(err, (rs_code)c->fail_with, "the receiver is full");
    if (c->len + len > c->cap) {
        c->cap = (c->len + len) * 2;
        c->p = realloc(c->p, c->cap);
        assert_non_null(c->p);
    }
    memcpy(c->p + c->len, p, len);
    c->len += len;
    return RS_OK;
}

rs_code obj_remember_upload(void *arg, const char *key, const char *id, int64_t when, rs_err *err)
{
    (void)err;
    struct obj_seen *s = arg;
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->id, sizeof s->id, "%s", id);
    assert_true(when > 0);
    s->n++;
    return RS_OK;
}

FILE *obj_capture_log(char **buf, size_t *len, rs_log_level level)
{
    FILE *log = open_memstream(buf, len);
    assert_non_null(log);
    rs_log_set_stream(log);
    rs_log_set_level(level);
    return log;
}

void obj_release_log(FILE *log)
{
    rs_log_set_stream(NULL);
    rs_log_set_level(RS_LOG_INFO);
    fclose(log);
}

void obj_expect_changed(rs_objstore_reader *r, uint8_t *buf, size_t cap)
{
    rs_err err = RS_ERR_INIT;
    rs_code rc = RS_OK;
    size_t got = 1;
    while (rc == RS_OK && got > 0)
        rc = rs_objstore_reader_read(r, buf, cap, &got, &err);
    assert_int_equal(rc, RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "changed while it was read"));
}
