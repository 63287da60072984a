/*
 * WAL retention: the archive stays within its byte budget (plus the file
 * being archived) under load, and within its age budget, without waiting
 * for RocksDB's ten-minute purge; a consumer's pin keeps what it still
 * needs past the age budget but never past the bytes. The watch: a
 * consumer reading batches near the end of the budget (age or bytes) is
 * named in a warning, once a minute at most; one comfortably inside it is
 * not.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

/* ---- the budget, enforced --------------------------------------------- */

struct archive_use {
    uint64_t bytes;     /* archived WAL now */
    uint64_t largest;   /* the largest archived file now */
    size_t   n_files;
};

static struct archive_use archive_now(const char *db)
{
    struct archive_use u = {0};
    char *dir = rs_test_path(db, "archive");
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        struct stat st;
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".log") != 0 || fstatat(dirfd(d), e->d_name, &st, 0) != 0)
            continue;
        u.bytes += (uint64_t)st.st_size;
        u.largest = (uint64_t)st.st_size > u.largest ? (uint64_t)st.st_size : u.largest;
        u.n_files++;
    }
    if (d != NULL)
        closedir(d);
    free(dir);
    return u;
}

/* A primary's store (chained) with a small budget and small memtables, so
 * WAL files are archived many times a second under load. */
static rs_store *open_budgeted(struct fx *f, const char *name, uint64_t keep_s, uint64_t keep_bytes)
{
    char *db = rs_test_path(f->dir, name);
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE, .wal_keep_seconds = keep_s,
                           .wal_keep_bytes = keep_bytes, .write_buffer_bytes = 256u << 10};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    assert_int_equal(rs_store_open(db, &cfg, &s, &err), RS_OK);
    free(db);
    rs_store_set_chained(s, 1);
    return s;
}

/* Puts n values of 4 KiB under keys "<tag>-<i>". */
static void load(rs_store *s, const char *tag, int n)
{
    static uint8_t val[4096];
    memset(val, 'w', sizeof val);
    rs_err err = RS_ERR_INIT;
    for (int i = 0; i < n; i++) {
        char k[48];
        int kl = snprintf(k, sizeof k, "%s-%06d", tag, i);
        assert_int_equal(rs_store_put(s, (const uint8_t *)k, (size_t)kl, val, sizeof val, &err), RS_OK);
    }
}

/* Samples the archive while a load runs: the most it held. */
struct sampler {
    const char        *db;
    atomic_int         stop;
    struct archive_use worst;
    size_t             most_files;
};

static void *sample(void *arg)
{
    struct sampler *sm = arg;
    while (!atomic_load(&sm->stop)) {
        struct archive_use u = archive_now(sm->db);
        sm->most_files = u.n_files > sm->most_files ? u.n_files : sm->most_files;
        if (u.bytes > sm->worst.bytes)
            sm->worst = u;
        rs_clock_sleep_us(500);
    }
    return NULL;
}

struct bound {
    const char *db;
    uint64_t    budget;
};

/* Within the budget plus one WAL file (the one being archived). */
static int within_budget(void *arg)
{
    struct bound *b = arg;
    struct archive_use u = archive_now(b->db);
    return u.bytes <= b->budget + u.largest;
}

/* After every round of writes the archive is back within the budget plus
 * one file, at once on a machine with a core to spare, within seconds when
 * the keeper's thread waits for one (a 2-core machine at load 39 let it
 * hold 2.5 times the budget for a moment); with RocksDB's own purge it was
 * not within ten minutes. The most it held is printed. */
static void archive_stays_within_the_byte_budget_under_load(void **state)
{
    struct fx *f = *state;
    const uint64_t budget = 1u << 20;
    rs_store *s = open_budgeted(f, "bytes", 3600, budget);
    /* a consumer that never moves: the byte budget holds all the same */
    rs_store_wal_pin *pin = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_wal_pin_add(s, 1, &pin, &err), RS_OK);
    struct sampler sm = {.db = rs_test_path(f->dir, "bytes")};
    struct bound b = {.db = sm.db, .budget = budget};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sample, &sm), 0);
    int rounds_over = 0, stuck = -1;
    for (int round = 0; round < 40 && stuck < 0; round++) { /* 40 x 128 x 4 KiB: 20 MiB of WAL */
        char tag[16];
        snprintf(tag, sizeof tag, "r%02d", round);
        load(s, tag, 128);
        rounds_over += !within_budget(&b);
        if (!rs_test_poll(within_budget, &b, 10000))
            stuck = round;
    }
    atomic_store(&sm.stop, 1);
    pthread_join(t, NULL);
    if (stuck >= 0)
        fail_msg("round %d: the archive stayed over its budget for 10 s", stuck);
    print_message("      archive at most %llu bytes in %zu files (budget %llu, largest file %llu); over it at the "
                  "end of %d rounds of 40\n",
                  (unsigned long long)sm.worst.bytes, sm.worst.n_files, (unsigned long long)budget,
                  (unsigned long long)sm.worst.largest, rounds_over);
    /* the load archived several files at once: the budget was tested */
    assert_true(sm.most_files >= 2);
    rs_store_wal_pin_remove(pin);
    rs_store_close(s);
    free((char *)sm.db);
}

static int archive_empty(void *arg) { return archive_now(arg).n_files == 0; }

/* Every archived file was last written more than 2 s ago. */
static int archive_older_than_2s(void *arg)
{
    char *dir = rs_test_path(arg, "archive");
    DIR *d = opendir(dir);
    int all_old = d != NULL;
    time_t now = time(NULL);
    struct dirent *e;
    while (all_old && (e = readdir(d)) != NULL) {
        struct stat st;
        if (strstr(e->d_name, ".log") != NULL && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            all_old = now - st.st_mtime > 2;
    }
    if (d != NULL)
        closedir(d);
    free(dir);
    return all_old;
}

static void pin_keeps_the_wal_past_the_age_budget_until_it_moves(void **state)
{
    struct fx *f = *state;
    rs_store *s = open_budgeted(f, "age", 1, 256u << 20);
    char *db = rs_test_path(f->dir, "age");
    rs_store_wal_pin *pin = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_wal_pin_add(s, rs_store_latest_seq(s) + 1, &pin, &err), RS_OK);
    load(s, "aged", 1024); /* 4 MiB: several archived files */
    assert_true(rs_test_poll(archive_older_than_2s, db, 20000));
    /* the keeper looked at least once after they passed the age budget */
    struct archive_use u = archive_now(db);
    assert_true(u.n_files >= 2);
    /* the consumer read them all: they go at the next look */
    rs_store_wal_pin_move(pin, rs_store_latest_seq(s) + 1);
    assert_true(rs_test_poll(archive_empty, db, 5000));
    rs_store_wal_pin_remove(pin);
    rs_store_close(s);
    free(db);
}

static void without_a_pin_the_age_budget_empties_the_archive(void **state)
{
    struct fx *f = *state;
    rs_store *s = open_budgeted(f, "unpinned", 1, 256u << 20);
    char *db = rs_test_path(f->dir, "unpinned");
    load(s, "old", 1024);
    assert_true(archive_now(db).n_files >= 1);
    /* within a few seconds, not RocksDB's ten minutes */
    assert_true(rs_test_poll(archive_empty, db, 5000));
    rs_store_close(s);
    free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(consumer_inside_budget_is_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(old_batches_warn_once, setup, teardown),
        cmocka_unit_test_setup_teardown(far_behind_in_bytes_warns, setup, teardown),
        cmocka_unit_test_setup_teardown(archive_stays_within_the_byte_budget_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(pin_keeps_the_wal_past_the_age_budget_until_it_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(without_a_pin_the_age_budget_empties_the_archive, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
