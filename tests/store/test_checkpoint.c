/*
 * store: checkpoints. Taken while another thread keeps writing, a
 * checkpoint holds exactly the writes up to the sequence it reports, carries
 * the database id, and shares the SST files by hard links.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

struct fixture {
    struct rs_test_db *d;
    rs_store          *store; /* d->store */
    char              *cp;    /* where the checkpoint goes */
    uint64_t           base;  /* latest seq before key-0 was written */
};

#define CHAINED ((void *)1)

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    rs_store_config cfg = {.sync = RS_STORE_SYNC_NONE};
    f->d = rs_test_db_open("checkpoint", 0, &cfg);
    f->store = f->d->store;
    rs_store_set_chained(f->store, *state == CHAINED); /* the prestate */
    f->cp = rs_test_path(f->d->dir, "cp");
    f->base = rs_store_latest_seq(f->store);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->cp);
    rs_test_db_close(f->d);
    free(f);
    return 0;
}

/* ---- a writer that keeps going -------------------------------------- */

struct writer {
    rs_store             *store;
    unsigned long         first;
    _Atomic int           stop;
    _Atomic unsigned long next; /* the key it writes next */
};

static void *write_numbered(void *arg)
{
    struct writer *w = arg;
    for (unsigned long i = w->first; !atomic_load(&w->stop); i++) {
        rs_test_put_numbered(w->store, i, i + 1);
        atomic_store(&w->next, i + 1);
    }
    return NULL;
}

static int wrote_500_more(void *arg)
{
    struct writer *w = arg;
    return atomic_load(&w->next) >= w->first + 500;
}

/* The name of some SST file in dir (malloc'd), or NULL. */
static char *some_sst(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *name = NULL;
    for (struct dirent *e; name == NULL && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".sst") == 0)
            name = strdup(e->d_name);
    }
    closedir(d);
    return name;
}

/* ---- tests ---------------------------------------------------------- */

static void checkpoint_under_writes_holds_exactly_up_to_its_seq(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    /* one writer, one put per key: key-i's write ends at sequence
     * base + (i + 1) * per_put */
    uint64_t per_put = rs_test_seqs_per_put(f->store);
    rs_test_put_numbered(f->store, 0, 1000);
    assert_int_equal(rs_store_latest_seq(f->store) - f->base, 1000 * per_put);
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    struct writer w = {.store = f->store, .first = 1000, .next = 1000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_numbered, &w), 0);
    assert_true(rs_test_poll(wrote_500_more, &w, 30000));

    uint64_t seq = 0;
    assert_int_equal(rs_store_checkpoint(f->store, f->cp, &seq, &err), RS_OK);
    assert_true(rs_test_poll(wrote_500_more, &w, 30000)); /* still writing */
    w.first = atomic_load(&w.next);
    assert_true(rs_test_poll(wrote_500_more, &w, 30000));
    atomic_store(&w.stop, 1);
    pthread_join(t, NULL);

    /* a checkpoint holds whole writes: it ends where one write ends */
    assert_int_equal((seq - f->base) % per_put, 0);
    unsigned long n = (unsigned long)((seq - f->base) / per_put);
    print_message("      checkpoint at seq %llu: %lu keys; the writer went on to %lu\n",
                  (unsigned long long)seq, n, atomic_load(&w.next));
    assert_true(n >= 1500 && n < atomic_load(&w.next));
    rs_store_config ro = {.read_only = 1};
    rs_store *cp = rs_test_store_open(f->cp, &ro);
    assert_int_equal(rs_store_latest_seq(cp), seq);
    rs_test_expect_numbered(cp, NULL, 0, n);
    char key[32];
    snprintf(key, sizeof key, "key-%lu", n);
    rs_test_expect_missing(cp, NULL, key);
    rs_test_expect_numbered(f->store, NULL, n, n + 1); /* written, after the checkpoint */
    rs_store_close(cp);
}

static void checkpoint_carries_the_database_id(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_test_put(f->store, "k", "v");
    assert_int_equal(rs_store_checkpoint(f->store, f->cp, NULL, &err), RS_OK);
    rs_store_config ro = {.read_only = 1};
    rs_store *cp = rs_test_store_open(f->cp, &ro);
    uint8_t a[16], b[16];
    rs_store_id(f->store, a);
    rs_store_id(cp, b);
    assert_memory_equal(a, b, sizeof a);
    rs_test_expect_value(cp, NULL, "k", "v");
    rs_store_close(cp);
}

static void checkpoint_hard_links_sst_files(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_test_put_numbered(f->store, 0, 100);
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    assert_int_equal(rs_store_checkpoint(f->store, f->cp, NULL, &err), RS_OK);
    char *name = some_sst(f->d->db);
    assert_non_null(name);
    char *src = rs_test_path(f->d->db, name), *dst = rs_test_path(f->cp, name);
    struct stat a, b;
    assert_int_equal(stat(src, &a), 0);
    assert_int_equal(stat(dst, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_dev, b.st_dev);
    assert_true(a.st_nlink >= 2);
    free(src);
    free(dst);
    free(name);
}

static void checkpoint_into_existing_directory_is_refused(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(mkdir(f->cp, 0755), 0);
    char *mine = rs_test_path(f->cp, "mine");
    FILE *fp = fopen(mine, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(rs_store_checkpoint(f->store, f->cp, NULL, &err), RS_E_EXISTS);
    print_message("      message: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "already exists"));
    assert_non_null(strstr(err.msg, f->cp));
    /* what was there is untouched */
    struct stat st;
    assert_int_equal(stat(mine, &st), 0);
    assert_null(some_sst(f->cp));
    free(mine);
}

static void checkpoint_without_parent_directory_is_io_error(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    char *deep = rs_test_path(f->d->dir, "no/such/parent");
    assert_int_equal(rs_store_checkpoint(f->store, deep, NULL, &err), RS_E_IO);
    print_message("      message: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "its parent directory"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    assert_int_equal(err.sys_errno, ENOENT);
    free(deep);
}

/* The in-memory backend checkpoints into its own memory: the seq comes
 * back, and the source is untouched. */
static void checkpoint_of_in_memory_database_reports_seq(void **state)
{
    (void)state;
    rs_store_config cfg = {.create_if_missing = 1, .in_memory = 1};
    rs_store *s = rs_test_store_open("/mem/db", &cfg);
    rs_test_put_numbered(s, 0, 10);
    uint64_t seq = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_checkpoint(s, "/mem/cp", &seq, &err), RS_OK);
    assert_int_equal(seq, rs_store_latest_seq(s));
    rs_test_expect_numbered(s, NULL, 0, 10);
    rs_store_close(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(checkpoint_under_writes_holds_exactly_up_to_its_seq),
        cmocka_unit_test_prestate_setup_teardown(checkpoint_under_writes_holds_exactly_up_to_its_seq, setup,
                                                 teardown, CHAINED),
        T(checkpoint_carries_the_database_id),
        T(checkpoint_hard_links_sst_files),
        T(checkpoint_into_existing_directory_is_refused),
        T(checkpoint_without_parent_directory_is_io_error),
        cmocka_unit_test(checkpoint_of_in_memory_database_reports_seq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
