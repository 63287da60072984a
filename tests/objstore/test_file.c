/*
 * The generic layer of object stores over the directory backend and the
 * fault-injecting wrapper: keys, puts, put-if-absent (also racing), uploads
 * of every awkward size, nothing visible before commit, aborts, ranged and
 * parallel reads, retries and their bounds, resumed reads after a reset,
 * and the backoff's jitter.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "objstore/objstore_int.h"
#include "objstore/obj_fixture.h"
#include "testlib/testlib.h"

#define PART (64u * 1024)

struct fx {
    char *dir;
    char *url;
    rs_objstore *s;
    rs_objstore_options opt;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("objstore");
    assert_true(asprintf(&f->url, "file://%s/store", f->dir) > 0);
    f->opt = (rs_objstore_options){.part_bytes = PART, .parallel = 3, .retry_base_ms = 1, .retry_max_ms = 5};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_open(f->url, &f->opt, &f->s, &err), RS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rs_objstore_close(f->s);
    rs_test_tmpdir_remove(f->dir);
    free(f->url);
    free(f);
    return 0;
}

static void expect_object(rs_objstore *s, const char *key, const uint8_t *want, size_t n)
{
    uint8_t *got = NULL;
    size_t len = 0;
    rs_objstore_info info;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_get_all(s, key, n + 16, &got, &len, &info, &err), RS_OK);
    assert_int_equal(len, n);
    assert_int_equal(info.size_bytes, n);
    assert_memory_equal(got, want, n);
    free(got);
}

static rs_code count_fn(void *arg, const char *key, const rs_objstore_info *info, rs_err *err)
{
    (void)key;
    (void)info;
    (void)err;
    (*(int *)arg)++;
    return RS_OK;
}

static int count_objects(rs_objstore *s, const char *prefix)
{
    int n = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_list(s, prefix, count_fn, &n, &err), RS_OK);
    return n;
}

static rs_code count_upload_fn(void *arg, const char *key, const char *id, int64_t when, rs_err *err)
{
    (void)key;
    (void)id;
    (void)when;
    (void)err;
    (*(int *)arg)++;
    return RS_OK;
}

static int count_uploads(rs_objstore *s)
{
    int n = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_list_uploads(s, "", count_upload_fn, &n, &err), RS_OK);
    return n;
}

/* ------------------------------------------------------------------ */
/* Keys and simple operations                                          */
/* ------------------------------------------------------------------ */

static rs_code collect_fn(void *arg, const char *key, const rs_objstore_info *info, rs_err *err)
{
    (void)err;
    char *out = arg;
    sprintf(out + strlen(out), "%s=%llu;", key, (unsigned long long)info->size_bytes);
    return RS_OK;
}

static void put_get_head_list_remove(void **state)
{
    struct fx *f = *state;
    rs_err err = RS_ERR_INIT;
    uint8_t *data = obj_pattern(1000, 1);
    assert_int_equal(rs_objstore_put(f->s, "b", data, 3, NULL, &err), RS_OK);
    assert_int_equal(rs_objstore_put(f->s, "a/c", data, 5, NULL, &err), RS_OK);
    rs_objstore_info info;
    assert_int_equal(rs_objstore_put(f->s, "a/b.bin", data, 1000, &info, &err), RS_OK);
    assert_int_equal(info.size_bytes, 1000);
    assert_true(info.etag[0] != '\0');
    expect_object(f->s, "a/b.bin", data, 1000);
    rs_objstore_info head;
    assert_int_equal(rs_objstore_head(f->s, "a/b.bin", &head, &err), RS_OK);
    assert_int_equal(head.size_bytes, 1000);
    assert_string_equal(head.etag, info.etag);
    char listing[256] = "";
    assert_int_equal(rs_objstore_list(f->s, "", collect_fn, listing, &err), RS_OK);
    assert_string_equal(listing, "a/b.bin=1000;a/c=5;b=3;");
    listing[0] = '\0';
    assert_int_equal(rs_objstore_list(f->s, "a/b", collect_fn, listing, &err), RS_OK);
    assert_string_equal(listing, "a/b.bin=1000;");
    /* replacing is a put's right */
    assert_int_equal(rs_objstore_put(f->s, "b", data, 7, NULL, &err), RS_OK);
    assert_int_equal(rs_objstore_head(f->s, "b", &head, &err), RS_OK);
    assert_int_equal(head.size_bytes, 7);
    assert_int_equal(rs_objstore_remove(f->s, "a/b.bin", &err), RS_OK);
    assert_int_equal(rs_objstore_head(f->s, "a/b.bin", &head, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "no object 'a/b.bin'"));
    rs_err_clear(&err);
    assert_int_equal(rs_objstore_remove(f->s, "a/b.bin", &err), RS_OK); /* missing: fine */
    const char *keys[] = {"a/c", "b", "never-was"};
    assert_int_equal(rs_objstore_remove_many(f->s, keys, 3, &err), RS_OK);
    assert_int_equal(count_objects(f->s, ""), 0);
    free(data);
}

static void bad_keys_are_refused(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *key, *says;
    } cases[] = {
        {"", "empty object key"},
        {"/abs", "empty, '.' or '..' segment"},
        {"a//b", "empty, '.' or '..' segment"},
        {"a/./b", "empty, '.' or '..' segment"},
        {"../x", "empty, '.' or '..' segment"},
        {"dir/", "empty, '.' or '..' segment"},
        {"tab\there", "control character"},
        {"bad\xff", "not valid UTF-8"},
        {"over\xc0\xaf", "not valid UTF-8"},
        {".rockstream-tmp/x", "reserved for temporary files"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rs_err err = RS_ERR_INIT;
        rs_code rc = rs_objstore_put(f->s, cases[i].key, (const uint8_t *)"x", 1, NULL, &err);
        assert_int_equal(rc, RS_E_INVALID);
        if (strstr(err.msg, cases[i].says) == NULL)
            fail_msg("key '%s': '%s' lacks '%s'", cases[i].key, err.msg, cases[i].says);
    }
    char *long_key = malloc(RS_OBJSTORE_KEY_MAX + 2);
    memset(long_key, 'k', RS_OBJSTORE_KEY_MAX + 1);
    long_key[RS_OBJSTORE_KEY_MAX + 1] = '\0';
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put(f->s, long_key, (const uint8_t *)"x", 1, NULL, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "exceeds the limit 1024"));
    free(long_key);
    /* nothing was written */
    assert_int_equal(count_objects(f->s, ""), 0);
}

static void put_if_absent_never_replaces(void **state)
{
    struct fx *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put_if_absent(f->s, "m/lock", (const uint8_t *)"first", 5, NULL, &err), RS_OK);
    assert_int_equal(rs_objstore_put_if_absent(f->s, "m/lock", (const uint8_t *)"second", 6, NULL, &err),
                     RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "already exists"));
    expect_object(f->s, "m/lock", (const uint8_t *)"first", 5);
    rs_err_clear(&err);
    uint8_t *big = obj_pattern(PART + 1, 2);
    assert_int_equal(rs_objstore_put_if_absent(f->s, "m/big", big, PART + 1, NULL, &err), RS_E_INVALID);
    free(big);
}

struct race {
    rs_objstore *s;
    int id;
    rs_code rc;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    char body[32];
    snprintf(body, sizeof body, "racer %d", r->id);
    rs_err err = RS_ERR_INIT;
    r->rc = rs_objstore_put_if_absent(r->s, "lease", (const uint8_t *)body, strlen(body), NULL, &err);
    return NULL;
}

static void put_if_absent_has_one_winner(void **state)
{
    struct fx *f = *state;
    enum { N = 8 };
    pthread_t t[N];
    struct race r[N];
    for (int i = 0; i < N; i++) {
        r[i] = (struct race){.s = f->s, .id = i};
        pthread_create(&t[i], NULL, racer, &r[i]);
    }
    int winners = 0, winner = -1;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (r[i].rc == RS_OK)
            winners++, winner = i;
        else
            assert_int_equal(r[i].rc, RS_E_EXISTS);
    }
    assert_int_equal(winners, 1);
    char body[32];
    snprintf(body, sizeof body, "racer %d", winner);
    expect_object(f->s, "lease", (const uint8_t *)body, strlen(body));
}

/* ------------------------------------------------------------------ */
/* Uploads                                                             */
/* ------------------------------------------------------------------ */

/* Uploads n bytes in writes of chunk bytes; returns the data. */
static uint8_t *upload(rs_objstore *s, const char *key, size_t n, size_t chunk, unsigned seed)
{
    uint8_t *data = obj_pattern(n, seed);
    rs_objstore_upload *u = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_upload_open(s, key, 0, &u, &err), RS_OK);
    for (size_t at = 0; at < n; at += chunk)
        assert_int_equal(rs_objstore_upload_write(u, data + at, n - at < chunk ? n - at : chunk, &err), RS_OK);
    rs_objstore_info info;
    assert_int_equal(rs_objstore_upload_commit(u, &info, &err), RS_OK);
    assert_int_equal(info.size_bytes, n);
    rs_objstore_upload_close(u);
    return data;
}

static void uploads_of_every_awkward_size(void **state)
{
    struct fx *f = *state;
    size_t sizes[] = {0, 1, PART - 1, PART, PART + 1, 10 * PART + 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "up/%zu", sizes[i]);
        uint8_t *data = upload(f->s, key, sizes[i], 1000, (unsigned)i);
        expect_object(f->s, key, data, sizes[i]);
        free(data);
    }
    assert_int_equal(count_uploads(f->s), 0);
}

static void nothing_is_visible_before_commit(void **state)
{
    struct fx *f = *state;
    uint8_t *data = obj_pattern(5 * PART, 3);
    rs_objstore_upload *u = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_upload_open(f->s, "half", 0, &u, &err), RS_OK);
    assert_int_equal(rs_objstore_upload_write(u, data, 5 * PART, &err), RS_OK);
    /* the multipart upload is under way: listed as an upload, not an object */
    rs_objstore_info info;
    assert_int_equal(rs_objstore_head(f->s, "half", &info, &err), RS_E_NOTFOUND);
    rs_err_clear(&err);
    assert_int_equal(count_objects(f->s, ""), 0);
    assert_int_equal(count_uploads(f->s), 1);
    assert_int_equal(rs_objstore_upload_commit(u, NULL, &err), RS_OK);
    rs_objstore_upload_close(u);
    assert_int_equal(count_objects(f->s, ""), 1);
    assert_int_equal(count_uploads(f->s), 0);
    expect_object(f->s, "half", data, 5 * PART);
    free(data);
}

static void closing_an_uncommitted_upload_aborts_it(void **state)
{
    struct fx *f = *state;
    uint8_t *data = obj_pattern(4 * PART, 4);
    rs_objstore_upload *u = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_upload_open(f->s, "gone", 0, &u, &err), RS_OK);
    assert_int_equal(rs_objstore_upload_write(u, data, 4 * PART, &err), RS_OK);
    rs_objstore_upload_close(u);
    assert_int_equal(count_objects(f->s, ""), 0);
    assert_int_equal(count_uploads(f->s), 0);
    free(data);
}

static void uploads_hold_at_most_parallel_plus_one_parts(void **state)
{
    struct fx *f = *state;
    char *buf = NULL;
    size_t len = 0;
    FILE *log = obj_capture_log(&buf, &len, RS_LOG_DEBUG);
    uint8_t *data = upload(f->s, "many", 40 * PART + 3, 100000, 5);
    obj_release_log(log);
    unsigned parts = 0, buffers = 0;
    const char *line = strstr(buf, "committed key=many");
    assert_non_null(line);
    assert_int_equal(sscanf(strstr(line, "parts="), "parts=%u buffers=%u", &parts, &buffers), 2);
    assert_int_equal(parts, 41);
    assert_true(buffers >= 2 && buffers <= f->opt.parallel + 1);
    expect_object(f->s, "many", data, 40 * PART + 3);
    free(data);
    free(buf);
}

static void aborted_uploads_are_listed_and_abortable(void **state)
{
    struct fx *f = *state;
    uint8_t *data = obj_pattern(3 * PART, 6);
    rs_objstore_upload *u = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_upload_open(f->s, "left/behind", 0, &u, &err), RS_OK);
    assert_int_equal(rs_objstore_upload_write(u, data, 3 * PART, &err), RS_OK);
    struct obj_seen seen = {0};
    assert_int_equal(rs_objstore_list_uploads(f->s, "left/", obj_remember_upload, &seen, &err), RS_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.key, "left/behind");
    /* as a process sweeping what a dead one left */
    assert_int_equal(rs_objstore_abort_upload(f->s, seen.key, seen.id, &err), RS_OK);
    assert_int_equal(count_uploads(f->s), 0);
    assert_int_equal(rs_objstore_abort_upload(f->s, seen.key, seen.id, &err), RS_OK); /* gone: fine */
    assert_int_equal(rs_objstore_abort_upload(f->s, "k", "../../etc/passwd", &err), RS_E_INVALID);
    rs_err_clear(&err);
    /* the owner finds its upload gone */
    assert_int_not_equal(rs_objstore_upload_commit(u, NULL, &err), RS_OK);
    rs_objstore_upload_close(u);
    assert_int_equal(count_objects(f->s, ""), 0);
    free(data);
}

/* ------------------------------------------------------------------ */
/* Reads                                                               */
/* ------------------------------------------------------------------ */

static void ranges_and_parallel_reads(void **state)
{
    struct fx *f = *state;
    size_t n = 10 * PART + PART / 2;
    uint8_t *data = upload(f->s, "r", n, 65536, 7);
    struct obj_collect c = {0};
    rs_objstore_sink sink = {obj_collect_write, &c};
    rs_objstore_info info;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_get(f->s, "r", 100, 5000, &sink, &info, &err), RS_OK);
    assert_int_equal(c.len, 5000);
    assert_memory_equal(c.p, data + 100, 5000);
    assert_int_equal(info.size_bytes, n);
    c.len = 0;
    assert_int_equal(rs_objstore_get(f->s, "r", n - 10, RS_OBJSTORE_TO_END, &sink, NULL, &err), RS_OK);
    assert_int_equal(c.len, 10);
    assert_int_equal(rs_objstore_get(f->s, "r", n, 1, &sink, NULL, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "past the end"));
    rs_err_clear(&err);
    /* the parallel reader, with reads of odd sizes */
    rs_objstore_reader *r = NULL;
    assert_int_equal(rs_objstore_reader_open(f->s, "r", &r, &err), RS_OK);
    assert_int_equal(rs_objstore_reader_info(r)->size_bytes, n);
    uint8_t *back = malloc(n);
    size_t at = 0, got = 0;
    do {
        assert_int_equal(rs_objstore_reader_read(r, back + at, at % 3 == 0 ? 7777 : 100000, &got, &err), RS_OK);
        at += got;
    } while (got > 0);
    rs_objstore_reader_close(r);
    assert_int_equal(at, n);
    assert_memory_equal(back, data, n);
    c.len = 0;
    assert_int_equal(rs_objstore_download(f->s, "r", &sink, &info, &err), RS_OK);
    assert_int_equal(c.len, n);
    assert_memory_equal(c.p, data, n);
    free(back);
    free(c.p);
    free(data);
}

static void reading_empty_and_missing_objects(void **state)
{
    struct fx *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put(f->s, "empty", (const uint8_t *)"", 0, NULL, &err), RS_OK);
    rs_objstore_reader *r = NULL;
    assert_int_equal(rs_objstore_reader_open(f->s, "empty", &r, &err), RS_OK);
    uint8_t buf[16];
    size_t got = 99;
    assert_int_equal(rs_objstore_reader_read(r, buf, sizeof buf, &got, &err), RS_OK);
    assert_int_equal(got, 0);
    rs_objstore_reader_close(r);
    uint8_t *all = NULL;
    size_t len = 99;
    assert_int_equal(rs_objstore_get_all(f->s, "empty", 10, &all, &len, NULL, &err), RS_OK);
    assert_int_equal(len, 0);
    free(all);
    assert_int_equal(rs_objstore_reader_open(f->s, "missing", &r, &err), RS_E_NOTFOUND);
    rs_err_clear(&err);
    uint8_t *data = obj_pattern(100, 8);
    assert_int_equal(rs_objstore_put(f->s, "hundred", data, 100, NULL, &err), RS_OK);
    assert_int_equal(rs_objstore_get_all(f->s, "hundred", 99, &all, &len, NULL, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "exceeds the limit of 99 bytes"));
    free(data);
}

static void a_replaced_object_fails_the_reader(void **state)
{
    struct fx *f = *state;
    size_t n = 20 * PART;
    uint8_t *data = upload(f->s, "v", n, 65536, 9);
    rs_objstore_reader *r = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_reader_open(f->s, "v", &r, &err), RS_OK);
    uint8_t *buf = malloc(PART);
    size_t got = 0;
    assert_int_equal(rs_objstore_reader_read(r, buf, PART, &got, &err), RS_OK);
    assert_int_equal(got, PART);
    free(upload(f->s, "v", n, 65536, 10)); /* another version under the same key */
    obj_expect_changed(r, buf, PART);
    rs_objstore_reader_close(r);
    free(buf);
    free(data);
}

/* ------------------------------------------------------------------ */
/* Faults and retries                                                  */
/* ------------------------------------------------------------------ */

static rs_objstore *faulty(struct fx *f, rs_objstore_fault fault, const rs_objstore_options *opt)
{
    rs_objstore *inner = NULL, *s = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_open(f->url, opt != NULL ? opt : &f->opt, &inner, &err), RS_OK);
    assert_int_equal(rs_objstore_fault_wrap(inner, &fault, &s, &err), RS_OK);
    return s;
}

static void a_busy_server_is_retried(void **state)
{
    struct fx *f = *state;
    rs_objstore *s = faulty(f, (rs_objstore_fault){.op = RS_OBJSTORE_OP_PUT, .nth = 1, .times = 2, .code = RS_E_BUSY},
                            NULL);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put(s, "k", (const uint8_t *)"v", 1, NULL, &err), RS_OK);
    assert_int_equal(rs_objstore_fault_calls(s, RS_OBJSTORE_OP_PUT), 3);
    rs_objstore_stats st;
    rs_objstore_stats_get(s, &st);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.failures, 0);
    assert_int_equal(st.bytes_up, 1);
    rs_objstore_close(s);
}

static void access_denied_is_not_retried(void **state)
{
    struct fx *f = *state;
    rs_objstore *s = faulty(f, (rs_objstore_fault){.op = RS_OBJSTORE_OP_PUT, .nth = 1, .code = RS_E_AUTH}, NULL);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put(s, "k", (const uint8_t *)"v", 1, NULL, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "injected fault"));
    assert_null(strstr(err.msg, "attempts"));
    assert_int_equal(rs_objstore_fault_calls(s, RS_OBJSTORE_OP_PUT), 1);
    rs_objstore_close(s);
}

static void retries_stop_at_the_attempt_bound(void **state)
{
    struct fx *f = *state;
    rs_objstore_options opt = f->opt;
    opt.max_attempts = 3;
    rs_objstore *s = faulty(f, (rs_objstore_fault){.op = RS_OBJSTORE_OP_HEAD, .nth = 1, .code = RS_E_NETWORK}, &opt);
    rs_objstore_info info;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_head(s, "k", &info, &err), RS_E_NETWORK);
    assert_non_null(strstr(err.msg, "gave up after 3 attempts"));
    assert_int_equal(rs_objstore_fault_calls(s, RS_OBJSTORE_OP_HEAD), 3);
    rs_objstore_stats st;
    rs_objstore_stats_get(s, &st);
    assert_int_equal(st.failures, 1);
    rs_objstore_close(s);
}

static void retries_stop_at_the_time_bound(void **state)
{
    struct fx *f = *state;
    rs_objstore_options opt = f->opt;
    opt.max_attempts = 1000;
    opt.retry_base_ms = 20;
    opt.retry_max_ms = 40;
    opt.retry_total_ms = 300;
    rs_objstore *s = faulty(f, (rs_objstore_fault){.op = RS_OBJSTORE_OP_HEAD, .nth = 1, .code = RS_E_TIMEOUT}, &opt);
    rs_objstore_info info;
    rs_err err = RS_ERR_INIT;
    uint64_t t0 = rs_clock_mono_ns();
    assert_int_equal(rs_objstore_head(s, "k", &info, &err), RS_E_TIMEOUT);
    uint64_t ms = (rs_clock_mono_ns() - t0) / 1000000;
    assert_true(ms < 300 + 1000); /* the budget, and slack for a loaded machine */
    uint64_t calls = rs_objstore_fault_calls(s, RS_OBJSTORE_OP_HEAD);
    assert_true(calls >= 2 && calls < 1000);
    rs_objstore_close(s);
}

static void backoff_is_full_jitter_below_a_doubling_bound(void **state)
{
    (void)state;
    rs_objstore_options opt = {.retry_base_ms = 100, .retry_max_ms = 1000};
    assert_int_equal(objstore_backoff_ms(&opt, 1, 0), 0);
    assert_int_equal(objstore_backoff_ms(&opt, 1, 100), 100);
    assert_int_equal(objstore_backoff_ms(&opt, 1, 101), 0);
    assert_int_equal(objstore_backoff_ms(&opt, 2, 200), 200);
    assert_int_equal(objstore_backoff_ms(&opt, 3, 400), 400);
    assert_int_equal(objstore_backoff_ms(&opt, 4, 800), 800);
    assert_int_equal(objstore_backoff_ms(&opt, 5, 1000), 1000); /* capped */
    assert_int_equal(objstore_backoff_ms(&opt, 60, 1000), 1000);
    for (uint64_t r = 0; r < 5000; r += 7)
        assert_true(objstore_backoff_ms(&opt, 40, r * 0x9e3779b97f4a7c15ull) <= 1000);
}

static void a_reset_mid_body_resumes_where_it_stopped(void **state)
{
    struct fx *f = *state;
    size_t n = 300000;
    uint8_t *data = upload(f->s, "reset", n, 65536, 11);
    rs_objstore *s = faulty(f,
                            (rs_objstore_fault){.op = RS_OBJSTORE_OP_GET, .nth = 1, .times = 2, .code = RS_E_NETWORK,
                                                .after_bytes = 70000},
                            NULL);
    struct obj_collect c = {0};
    rs_objstore_sink sink = {obj_collect_write, &c};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_get(s, "reset", 0, RS_OBJSTORE_TO_END, &sink, NULL, &err), RS_OK);
    assert_int_equal(c.len, n); /* each byte once */
    assert_memory_equal(c.p, data, n);
    assert_int_equal(rs_objstore_fault_calls(s, RS_OBJSTORE_OP_GET), 3);
    free(c.p);
    free(data);
    rs_objstore_close(s);
}

static void the_receivers_failure_is_not_retried(void **state)
{
    struct fx *f = *state;
    uint8_t *data = upload(f->s, "x", 1000, 1000, 12);
    rs_objstore *s = faulty(f, (rs_objstore_fault){.op = RS_OBJSTORE_OP_LIST, .nth = 1, .code = RS_E_BUSY}, NULL);
    struct obj_collect c = {.fail_with = RS_E_BUSY};
    rs_objstore_sink sink = {obj_collect_write, &c};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_get(s, "x", 0, RS_OBJSTORE_TO_END, &sink, NULL, &err), RS_E_BUSY);
    assert_string_equal(err.msg, "the receiver is full");
    assert_int_equal(rs_objstore_fault_calls(s, RS_OBJSTORE_OP_GET), 1);
    free(data);
    rs_objstore_close(s);
}

static void a_failed_part_fails_and_aborts_the_upload(void **state)
{
    struct fx *f = *state;
    rs_objstore *s = faulty(f, (rs_objstore_fault){.op = RS_OBJSTORE_OP_MPU_PART, .nth = 3, .code = RS_E_AUTH}, NULL);
    uint8_t *data = obj_pattern(10 * PART, 13);
    rs_objstore_upload *u = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_upload_open(s, "failing", 0, &u, &err), RS_OK);
    rs_code rc = RS_OK;
    for (size_t at = 0; rc == RS_OK && at < 10 * PART; at += PART)
        rc = rs_objstore_upload_write(u, data + at, PART, &err);
    if (rc == RS_OK)
        rc = rs_objstore_upload_commit(u, NULL, &err);
    assert_int_equal(rc, RS_E_AUTH);
    assert_non_null(strstr(err.msg, "injected fault"));
    rs_objstore_upload_close(u);
    assert_int_equal(count_objects(f->s, ""), 0);
    assert_int_equal(count_uploads(f->s), 0);
    free(data);
    rs_objstore_close(s);
}

static void a_failed_complete_is_retried(void **state)
{
    struct fx *f = *state;
    rs_objstore *s = faulty(
        f, (rs_objstore_fault){.op = RS_OBJSTORE_OP_MPU_COMPLETE, .nth = 1, .times = 1, .code = RS_E_NETWORK}, NULL);
    uint8_t *data = upload(s, "completes", 3 * PART, 65536, 14);
    expect_object(f->s, "completes", data, 3 * PART);
    assert_int_equal(rs_objstore_fault_calls(s, RS_OBJSTORE_OP_MPU_COMPLETE), 2);
    free(data);
    rs_objstore_close(s);
}

static void a_failing_range_fails_the_reader(void **state)
{
    struct fx *f = *state;
    uint8_t *data = upload(f->s, "big", 12 * PART, 65536, 15);
    rs_objstore *s = faulty(f, (rs_objstore_fault){.op = RS_OBJSTORE_OP_GET, .nth = 4, .code = RS_E_AUTH}, NULL);
    struct obj_collect c = {0};
    rs_objstore_sink sink = {obj_collect_write, &c};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_download(s, "big", &sink, NULL, &err), RS_E_AUTH);
    assert_true(c.len < 12 * PART);
    assert_memory_equal(c.p, data, c.len); /* what arrived is in order */
    free(c.p);
    free(data);
    rs_objstore_close(s);
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

static void urls_and_object_urls(void **state)
{
    struct fx *f = *state;
    rs_objstore *s = NULL;
    char *key = NULL, *url = NULL;
    rs_err err = RS_ERR_INIT;
    assert_true(asprintf(&url, "file://%s/objs/dir/name.rsa", f->dir) > 0);
    assert_int_equal(rs_objstore_open_object(url, NULL, &s, &key, &err), RS_OK);
    assert_string_equal(key, "name.rsa");
    char want[4096];
    snprintf(want, sizeof want, "file://%s/objs/dir", f->dir);
    assert_string_equal(rs_objstore_describe(s), want);
    rs_objstore_close(s);
    free(key);
    free(url);
    assert_true(rs_objstore_is_url("s3://b/k") && rs_objstore_is_url("file:///x") && !rs_objstore_is_url("/x"));
    assert_int_equal(rs_objstore_open("gs://bucket/x", NULL, &s, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "unknown kind of store"));
    rs_err_clear(&err);
    assert_int_equal(rs_objstore_open("file://host/x", NULL, &s, &err), RS_E_INVALID);
    rs_err_clear(&err);
    assert_int_equal(rs_objstore_open_object("s3://bucket", NULL, &s, &key, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "names no object"));
    rs_err_clear(&err);
    assert_int_equal(rs_objstore_open_object("file:///tmp/dir/", NULL, &s, &key, &err), RS_E_INVALID);
    rs_err_clear(&err);
    rs_objstore_options opt = {.parallel = 1000};
    assert_int_equal(rs_objstore_open(f->url, &opt, &s, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "exceeds the limit"));
}

static void stale_temporaries_are_swept_at_open(void **state)
{
    struct fx *f = *state;
    char *old = NULL, *fresh = NULL;
    assert_true(asprintf(&old, "%s/store/.rockstream-tmp/put-old", f->dir) > 0);
    assert_true(asprintf(&fresh, "%s/store/.rockstream-tmp/put-new", f->dir) > 0);
    FILE *a = fopen(old, "w"), *b = fopen(fresh, "w");
    fclose(a);
    fclose(b);
    struct timeval tv[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
    assert_int_equal(utimes(old, tv), 0);
    rs_objstore *s = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_open(f->url, NULL, &s, &err), RS_OK);
    assert_int_equal(access(old, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0); /* may be another process's */
    rs_objstore_close(s);
    free(old);
    free(fresh);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(put_get_head_list_remove),
        T(bad_keys_are_refused),
        T(put_if_absent_never_replaces),
        T(put_if_absent_has_one_winner),
        T(uploads_of_every_awkward_size),
        T(nothing_is_visible_before_commit),
        T(closing_an_uncommitted_upload_aborts_it),
        T(uploads_hold_at_most_parallel_plus_one_parts),
        T(aborted_uploads_are_listed_and_abortable),
        T(ranges_and_parallel_reads),
        T(reading_empty_and_missing_objects),
        T(a_replaced_object_fails_the_reader),
        T(a_busy_server_is_retried),
        T(access_denied_is_not_retried),
        T(retries_stop_at_the_attempt_bound),
        T(retries_stop_at_the_time_bound),
        cmocka_unit_test(backoff_is_full_jitter_below_a_doubling_bound),
        T(a_reset_mid_body_resumes_where_it_stopped),
        T(the_receivers_failure_is_not_retried),
        T(a_failed_part_fails_and_aborts_the_upload),
        T(a_failed_complete_is_retried),
        T(a_failing_range_fails_the_reader),
        T(urls_and_object_urls),
        T(stale_temporaries_are_swept_at_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
