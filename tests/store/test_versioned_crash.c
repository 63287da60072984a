/*
 * store: kill -9 in the middle of versioned commits (and of the prune
 * rounds between them). A helper process commits a deterministic chain
 * and says which versions it committed; the test kills it at a random
 * point, reopens, and checks that the database holds a whole version at
 * least as new as the last one acknowledged: its state, its record, its
 * digest chain (so every commit was applied once, in order), the readable
 * range and the versions keep-every kept. Then it lets the helper go on
 * from there, and kills it again.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commit_digest.h"
#include "store/store.h"
#include "testlib/testlib.h"
#include "version_blocks.h"

#define ROUNDS 8

struct fixture {
    char *dir;
    char *db;
    char *helper;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("vcrash");
    f->db = rs_test_path(f->dir, "db");
    f->helper = rs_test_helper("rs_version_helper");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->db);
    free(f->helper);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* ---- the chain's expected state -------------------------------------- */

struct model {
    uint64_t written[ACCOUNTS]; /* version of the account's value; 0: absent */
};

static void model_at(uint64_t v, struct model *m)
{
    memset(m, 0, sizeof *m);
    for (uint64_t u = 1; u <= v; u++)
        for (unsigned a = 0; a < ACCOUNTS; a++) {
            int what = block_touches(u, a);
            if (what != 0)
                m->written[a] = what > 0 ? u : 0;
        }
}

/* The digest chain up to v, from the spec. */
static void chain_digest(uint64_t v, uint8_t out[32])
{
    static uint8_t vals[ACCOUNTS][VALUE_BYTES];
    static char keys[ACCOUNTS][16];
    memset(out, 0, 32);
    for (uint64_t u = 1; u <= v; u++) {
        struct spec_write w[ACCOUNTS];
        size_t n = 0;
        for (unsigned a = 0; a < ACCOUNTS; a++) {
            int what = block_touches(u, a);
            if (what == 0)
                continue;
            int kl = account_key(a, keys[a]);
            account_value(u, a, vals[a]);
            w[n++] = (struct spec_write){(const uint8_t *)keys[a], (size_t)kl, what > 0 ? vals[a] : NULL,
                                         what > 0 ? VALUE_BYTES : 0};
        }
        uint8_t prev[32];
        memcpy(prev, out, 32);
        spec_digest(u, prev, w, n, out);
    }
}

struct scan_check {
    const struct model *m;
    unsigned next;    /* accounts are scanned in order */
    int      bad;
};

static int check_pair(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    struct scan_check *c = arg;
    char key[16];
    uint8_t want[VALUE_BYTES];
    while (c->next < ACCOUNTS && c->m->written[c->next] == 0)
        c->next++;
    if (c->next == ACCOUNTS) {
        c->bad = 1;
        return 1;
    }
    int n = account_key(c->next, key);
    account_value(c->m->written[c->next], c->next, want);
    if (kl != (size_t)n || memcmp(k, key, kl) != 0 || vl != VALUE_BYTES || memcmp(v, want, vl) != 0)
        c->bad = 1;
    c->next++;
    return c->bad;
}

/* The whole state at version v is the model's, no more, no less. */
static void expect_state(rs_store *s, uint64_t v)
{
    struct model m;
    model_at(v, &m);
    struct scan_check c = {.m = &m};
    rs_err err = RS_ERR_INIT;
    if (rs_store_scan_at(s, v, NULL, check_pair, &c, &err) != RS_OK)
        fail_msg("scan at %" PRIu64 ": %s", v, err.msg);
    while (c.next < ACCOUNTS && m.written[c.next] == 0)
        c.next++;
    if (c.bad || c.next != ACCOUNTS)
        fail_msg("state at version %" PRIu64 " differs from the chain (at account %u)", v, c.next);
}

static int check_kept(void *arg, uint64_t version)
{
    expect_state(arg, version);
    return 0;
}

/* ---- the crash -------------------------------------------------------- */

/* Runs the helper until it acknowledges at least target, then kills it.
 * Returns the last version it acknowledged. */
static uint64_t commit_then_kill(struct fixture *f, uint64_t target)
{
    char *argv[] = {f->helper, "commit", f->db, NULL};
    int fd = -1;
    pid_t pid = rs_test_spawn(argv, &fd, -1);
    uint64_t acked = 0;
    char line[256];
    while (acked < target) {
        if (rs_test_read_line(fd, line, sizeof line, 60000) < 0)
            fail_msg("helper stopped before version %" PRIu64 " (last %" PRIu64 ")", target, acked);
        if (sscanf(line, "ok %" SCNu64, &acked) != 1)
            fail_msg("helper: %s", line);
    }
    kill(pid, SIGKILL);
    assert_int_equal(rs_test_wait(pid, 30000), 128 + SIGKILL);
    close(fd);
    return acked;
}

static void check_after_crash(struct fixture *f, uint64_t acked)
{
    rs_store_config cfg = {.prune = {RS_STORE_PRUNE_NOTHING, 0, 0, 0}};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(f->db, &cfg, &s, &err) != RS_OK)
        fail_msg("reopen after kill -9: %s", err.msg);
    uint64_t e = 0, l = 0;
    assert_int_equal(rs_store_version_range(s, &e, &l, &err), RS_OK);
    if (l < acked)
        fail_msg("acknowledged version %" PRIu64 " lost: the database holds %" PRIu64, acked, l);
    assert_true(e >= 1 && e <= l);
    /* the latest version: its record, its digest, its state */
    rs_store_version_info info;
    assert_int_equal(rs_store_version_info_get(s, l, &info, &err), RS_OK);
    uint8_t want[32];
    chain_digest(l, want);
    assert_memory_equal(info.digest, want, 32);
    uint64_t at = 0;
    assert_int_equal(rs_store_version_at_seq(s, rs_store_latest_seq(s), &at, NULL, &err), RS_OK);
    assert_int_equal(at, l);
    expect_state(s, l);
    /* older readable versions, and what keep-every kept */
    expect_state(s, e);
    expect_state(s, e + (l - e) / 2);
    assert_int_equal(rs_store_version_kept_scan(s, check_kept, s, &err), RS_OK);
    rs_store_close(s);
}

static void kill_during_commits_keeps_whole_versions(void **state)
{
    struct fixture *f = *state;
    uint64_t seed = 7, last = 0;
    for (int round = 0; round < ROUNDS; round++) {
        seed = rs_workload_mix(seed);
        uint64_t acked = commit_then_kill(f, last + 20 + seed % 60);
        check_after_crash(f, acked);
        last = acked;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(kill_during_commits_keeps_whole_versions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
