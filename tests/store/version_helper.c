/*
 * A process for the versioned-state tests.
 *
 *   rs_version_helper commit DIR   commits the chain of version_blocks.h from
 *                                  the database's latest version on, with
 *                                  pruning running in the background, and
 *                                  prints "ok V" once version V is committed
 *                                  (durable per the default sync policy):
 *                                  the crash test kills it -9
 *   rs_version_helper open DIR     opens the database for writing, with the
 *                                  store's debug log on stdout (a conversion
 *                                  says each batch it writes: the migration
 *                                  test kills it -9 in the middle), then
 *                                  prints "opened"
 *   rs_version_helper chain DIR    builds the history of version_chain.h in
 *                                  a new database (how fixtures/layout1.tar.gz
 *                                  was made)
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "store/store.h"
#include "version_chain.h"

static int commit_forever(const char *dir)
{
    /* keep-every and a short interval: prune rounds run between commits,
     * so a kill lands in them too */
    rs_store_config cfg = {.create_if_missing = 1,
                           .prune = {RS_STORE_PRUNE_CUSTOM, 20, 10, 3},
                           .write_buffer_bytes = 1 << 20};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    rs_store_batch *b = NULL;
    if (rs_store_open(dir, &cfg, &s, &err) != RS_OK || rs_store_batch_create(&b, &err) != RS_OK) {
        printf("error %s\n", err.msg);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (uint64_t v = rs_store_version_latest(s) + 1;; v++) {
        block_build(v, b);
        if (rs_store_commit(s, v, b, &err) != RS_OK) {
            printf("error %s\n", err.msg);
            break;
        }
        printf("ok %" PRIu64 "\n", v);
    }
    rs_store_batch_destroy(b);
    rs_store_close(s);
    return 1;
}

static int open_logged(const char *dir)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    rs_log_set_stream(stdout);
    rs_log_set_level(RS_LOG_DEBUG);
    rs_store_config cfg = {.sync = RS_STORE_SYNC_NONE};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(dir, &cfg, &s, &err) != RS_OK) {
        printf("error %s\n", err.msg);
        return 1;
    }
    printf("opened\n");
    rs_store_close(s);
    return 0;
}

static int chain(const char *dir)
{
    rs_store_config cfg = chain_config(1);
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(dir, &cfg, &s, &err) != RS_OK) {
        chain_fail("open", &err);
        return 1;
    }
    int rc = chain_steps(s);
    rs_store_close(s);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "commit") == 0)
        return commit_forever(argv[2]);
    if (argc == 3 && strcmp(argv[1], "open") == 0)
        return open_logged(argv[2]);
    if (argc == 3 && strcmp(argv[1], "chain") == 0)
        return chain(argv[2]);
    fprintf(stderr, "usage: rs_version_helper commit|open|chain DIR\n");
    return 2;
}
