/*
 * store: asynchronous durability for event loops. A write made with
 * rs_store_write_nowait becomes durable after rs_store_sync_request, the
 * listener hears of it, and rs_store_synced_seq covers it; without a
 * syncer nothing is waited for; removing the listener is a barrier.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "store/store.h"
#include "testlib/testlib.h"

struct fixture {
    char     *dir;
    rs_store *store;
    int       efd;
};

static rs_store *open_with(struct fixture *f, rs_store_sync sync)
{
    char *db = rs_test_path(f->dir, "db");
    rs_store_config cfg = {.create_if_missing = 1, .sync = sync, .write_buffer_bytes = 1 << 20};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(db, &cfg, &s, &err) != RS_OK)
        fail_msg("open: %s", err.msg);
    free(db);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("syncasync");
    f->efd = eventfd(0, EFD_NONBLOCK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rs_store_close(f->store);
    close(f->efd);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void signal_efd(void *arg)
{
    uint64_t one = 1;
    ssize_t n = write(*(int *)arg, &one, sizeof one);
    (void)n;
}

static uint64_t write_one(rs_store *s, const char *key)
{
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, (const uint8_t *)key, strlen(key), (const uint8_t *)"v", 1);
    uint64_t seq = 0;
    assert_int_equal(rs_store_write_nowait(s, b, &seq, &err), RS_OK);
    rs_store_batch_destroy(b);
    return seq;
}

struct wait_ctx {
    rs_store *store;
    int efd;
    uint64_t seq;
};

/* The listener fired and the synced sequence covers ctx->seq. */
static int synced_and_heard(void *arg)
{
    struct wait_ctx *w = arg;
    uint64_t count = 0, synced = 0;
    if (read(w->efd, &count, sizeof count) != (ssize_t)sizeof count)
        return 0;
    return rs_store_synced_seq(w->store, &synced, NULL) == RS_OK && synced >= w->seq;
}

static void request_makes_write_durable_and_listener_hears(void **state)
{
    struct fixture *f = *state;
    f->store = open_with(f, RS_STORE_SYNC_GROUP);
    rs_store_sync_listen(f->store, signal_efd, &f->efd);
    uint64_t seq = write_one(f->store, "k1");
    uint64_t synced = 0;
    assert_int_equal(rs_store_synced_seq(f->store, &synced, NULL), RS_OK);
    assert_true(synced < seq); /* nothing asked for the fsync yet */
    rs_store_sync_request(f->store, seq);
    struct wait_ctx w = {f->store, f->efd, seq};
    assert_true(rs_test_poll(synced_and_heard, &w, 5000));
}

static void without_a_syncer_nothing_is_waited_for(void **state)
{
    struct fixture *f = *state;
    f->store = open_with(f, RS_STORE_SYNC_NONE);
    rs_store_sync_listen(f->store, signal_efd, &f->efd);
    uint64_t seq = write_one(f->store, "k1");
    rs_store_sync_request(f->store, seq);
    uint64_t synced = 0;
    assert_int_equal(rs_store_synced_seq(f->store, &synced, NULL), RS_OK);
    assert_int_equal(synced, UINT64_MAX);
}

static void removed_listener_is_never_called_again(void **state)
{
    struct fixture *f = *state;
    f->store = open_with(f, RS_STORE_SYNC_ALWAYS);
    rs_store_sync_listen(f->store, signal_efd, &f->efd);
    rs_store_sync_listen(f->store, NULL, NULL);
    uint64_t seq = write_one(f->store, "k1");
    rs_err err = RS_ERR_INIT;
    /* the listener would be called before this returns (same lock) */
    assert_int_equal(rs_store_sync_wait(f->store, seq, &err), RS_OK);
    uint64_t count = 0;
    assert_int_equal(read(f->efd, &count, sizeof count), -1);
    assert_int_equal(errno, EAGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(request_makes_write_durable_and_listener_hears, setup, teardown),
        cmocka_unit_test_setup_teardown(without_a_syncer_nothing_is_waited_for, setup, teardown),
        cmocka_unit_test_setup_teardown(removed_listener_is_never_called_again, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
