/*
 * A second process for the store tests: it holds a database open (so the
 * test can see the lock refused), tries to open one as another user, or
 * writes and reports each acknowledged key so the test can kill -9 it and
 * check that every acknowledged write survived.
 *
 *   rs_store_helper hold DIR          open, print "ready", wait to be killed
 *   rs_store_helper open DIR          try to open, print "<code> <message>" and,
 *                                    on failure, "hint: <hint>"
 *   rs_store_helper write DIR POLICY [chained]
 *                                    write key-N = value-N forever, print "ok N"
 *                                    (chained: with chaining on, as a primary)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "store/store.h"

static int hold(const char *dir)
{
    rs_store_config cfg = {.create_if_missing = 1};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(dir, &cfg, &s, &err) != RS_OK) {
        printf("%d %s\n", err.code, err.msg);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    /* not stdin's end of file: under ctest stdin may be /dev/null, which
     * would end the hold before the test looks at the lock */
    for (;;)
        pause();
}

static int try_open(const char *dir)
{
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    rs_code rc = rs_store_open(dir, NULL, &s, &err);
    printf("%d %s\n", rc, rc == RS_OK ? "ok" : err.msg);
    if (rc != RS_OK)
        printf("hint: %s\n", err.hint != NULL ? err.hint : "(none)");
    rs_store_close(s);
    return rc == RS_OK ? 0 : 1;
}

static int write_forever(const char *dir, const char *policy, int chained)
{
    rs_store_config cfg = {.create_if_missing = 1};
    if (rs_store_sync_parse(policy, &cfg.sync) != 0)
        return 2;
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(dir, &cfg, &s, &err) != RS_OK) {
        printf("%d %s\n", err.code, err.msg);
        return 1;
    }
    rs_store_set_chained(s, chained);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char key[32], val[32];
    for (unsigned long i = 0;; i++) {
        int kl = snprintf(key, sizeof key, "key-%lu", i);
        int vl = snprintf(val, sizeof val, "value-%lu", i);
        if (rs_store_put(s, (const uint8_t *)key, (size_t)kl, (const uint8_t *)val, (size_t)vl, &err) != RS_OK) {
            printf("error %s\n", err.msg);
            break;
        }
        printf("ok %lu\n", i);
    }
    rs_store_close(s);
    return 1;
}

int main(int argc, char **argv)
{
    /* a test that dies must not leave a helper holding its database */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (argc == 3 && strcmp(argv[1], "hold") == 0)
        return hold(argv[2]);
    if (argc == 3 && strcmp(argv[1], "open") == 0)
        return try_open(argv[2]);
    if ((argc == 4 || (argc == 5 && strcmp(argv[4], "chained") == 0)) && strcmp(argv[1], "write") == 0)
        return write_forever(argv[2], argv[3], argc == 5);
    fprintf(stderr, "usage: rs_store_helper hold|open DIR | write DIR POLICY [chained]\n");
    return 2;
}
