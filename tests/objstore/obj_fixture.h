/*
 * Shared by the objstore tests: deterministic data, a sink that collects
 * what it is given, a listing callback that remembers an upload, and the
 * log captured in memory.
 */
#ifndef RS_TEST_OBJ_FIXTURE_H
#define RS_TEST_OBJ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/log.h"
#include "objstore/objstore.h"

/* n deterministic, incompressible bytes of stream seed (malloc'd). */
uint8_t *obj_pattern(size_t n, unsigned seed);

/* A sink that appends to p (malloc'd; the test frees it), or fails with
 * fail_with when that is not 0. */
struct obj_collect {
    uint8_t *p;
    size_t len, cap;
    int fail_with;
};
rs_code obj_collect_write(void *arg, const uint8_t *p, size_t len, rs_err *err);

/* An rs_objstore_upload_fn that counts uploads and keeps the last. */
struct obj_seen {
    char key[64], id[256];
    int n;
};
rs_code obj_remember_upload(void *arg, const char *key, const char *id, int64_t when, rs_err *err);

/* Reads r to its end, which must be the error of an object replaced
 * under the reader (RS_E_CORRUPT, "changed while it was read"). */
void obj_expect_changed(rs_objstore_reader *r, uint8_t *buf, size_t cap);

/* Sends the log, at level and above, to a memory stream (*buf, *len) until
 * obj_release_log, which restores stderr and info. */
FILE *obj_capture_log(char **buf, size_t *len, rs_log_level level);
void obj_release_log(FILE *log);

#endif
