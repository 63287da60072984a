/*
 * A process for the versioned-state crash test to kill -9: it commits the
 * chain of version_blocks.h from the database's latest version on, with
 * pruning running in the background, and prints "ok V" once version V is
 * committed (durable per the default sync policy).
 *
 *   rs_version_helper commit DIR
 */
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "version_blocks.h"

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

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "commit") == 0)
        return commit_forever(argv[2]);
    fprintf(stderr, "usage: rs_version_helper commit DIR\n");
    return 2;
}
