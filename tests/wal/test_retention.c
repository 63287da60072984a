/*
 * wal retention watch: a consumer reading batches near the end of the WAL
 * budget (age or bytes) is named in a warning, once a minute at most; one
 * comfortably inside it is not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "wal/wal_int.h"
#include "testlib/testlib.h"

struct fx {
    char     *dir;
    rs_store *store;
    char     *buf;
    size_t    len;
    FILE     *log;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("retention");
    char *db = rs_test_path(f->dir, "db");
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE, .wal_keep_seconds = 100,
                           .wal_keep_bytes = 10u << 20};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_open(db, &cfg, &f->store, &err), RS_OK);
    free(db);
    f->log = open_memstream(&f->buf, &f->len);
    rs_log_set_stream(f->log);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rs_log_set_stream(NULL);
    fclose(f->log);
    free(f->buf);
    rs_store_close(f->store);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static int logged(struct fx *f, const char *words)
{
    fflush(f->log);
    return f->buf != NULL && strstr(f->buf, words) != NULL;
}

static void consumer_inside_budget_is_quiet(void **state)
{
    struct fx *f = *state;
    wal_retention r;
    wal_retention_init(&r, rs_store_config_get(f->store));
    wal_retention_note(&r, f->store, "f1", rs_clock_wall_ns() - 5ull * 1000000000, 100, 2, 10);
    assert_false(logged(f, "consumer=f1"));
}

static void old_batches_warn_once(void **state)
{
    struct fx *f = *state;
    wal_retention r;
    wal_retention_init(&r, rs_store_config_get(f->store));
    uint64_t ninety_s_ago = rs_clock_wall_ns() - 90ull * 1000000000;
    wal_retention_note(&r, f->store, "f2", ninety_s_ago, 100, 2, 10);
    assert_true(logged(f, "consumer=f2 is near the end of the WAL kept for it: reading batches 90 s old (budget 100 s)"));
    size_t before = f->len;
    r.next_check_ns = 0; /* a second look, within the minute */
    wal_retention_note(&r, f->store, "f2", ninety_s_ago, 100, 2, 10);
    fflush(f->log);
    assert_int_equal(f->len, before);
}

static void far_behind_in_bytes_warns(void **state)
{
    struct fx *f = *state;
    wal_retention r;
    wal_retention_init(&r, rs_store_config_get(f->store));
    /* 1000 bytes a sequence, 9,000 sequences behind: 9 MB of a 10 MiB budget */
    wal_retention_note(&r, f->store, "f3", rs_clock_wall_ns(), 2000, 2, 9000);
    assert_true(logged(f, "consumer=f3"));
    assert_true(logged(f, "about 9000000 bytes behind (budget 10485760"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(consumer_inside_budget_is_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(old_batches_warn_once, setup, teardown),
        cmocka_unit_test_setup_teardown(far_behind_in_bytes_warns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
