/*
 * store: databases of layout 1 (versioned state as the values each version
 * overwrote, docs/format.md "Layout 1") are converted to layout 2 when
 * opened for writing, and refused read-only with how to convert them. A
 * database written by rockstream's layout-1 code (fixtures/layout1.tar.gz,
 * the history of version_chain.h) converts to exactly what the current code
 * writes for the same history, version by version, and goes on like it; a
 * conversion killed -9 in the middle goes on at the next open. The large
 * database of that test is written from the layout-1 spec with RocksDB's C
 * API, a second reading of that section of docs/format.md.
 */
#include <inttypes.h>
#include <rocksdb/c.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "testlib/testlib.h"
#include "version_chain.h"
#include "version_compare.h"

struct fixture {
    char *dir;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("vmigrate");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static rs_store *open_store(const char *path, rs_store_config cfg)
{
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        fail_msg("open '%s': %s", path, err.msg);
    return s;
}

/* Whether the database still has layout 1's history family. */
static int has_family(const char *path, const char *name)
{
    rocksdb_options_t *o = rocksdb_options_create();
    size_t n = 0;
    char *errptr = NULL;
    char **names = rocksdb_list_column_families(o, path, &n, &errptr);
    assert_null(errptr);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(names[i], name) == 0;
    rocksdb_list_column_families_destroy(names, n);
    rocksdb_options_destroy(o);
    return found;
}

/* ---- the database layout-1 code wrote --------------------------------- */

static char *unpack_fixture(struct fixture *f)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "tar -xzf '%s/layout1.tar.gz' -C '%s'", RS_TEST_FIXTURES, f->dir);
    assert_int_equal(system(cmd), 0);
    return rs_test_path(f->dir, "db");
}

/* A read at a version of a database still in layout 1 is refused with how
 * to convert it. */
static void expect_layout1_refusal(rs_store *s, uint64_t version)
{
    rs_err err = RS_ERR_INIT;
    rs_store_value val = {0};
    assert_int_equal(rs_store_get_at(s, version, (const uint8_t *)"acct001", 7, &val, &err), RS_E_VERSION);
    assert_non_null(strstr(err.msg, "layout 1"));
    assert_non_null(err.hint);
    assert_non_null(strstr(err.hint, "rockstream migrate --db DIR"));
}

static void layout1_reads_read_only_and_converts_for_writing(void **state)
{
    struct fixture *f = *state;
    char *old = unpack_fixture(f);
    rs_store_config ro = {.read_only = 1};
    rs_err err = RS_ERR_INIT;
    /* read-only: its latest state, records and content digest as ever (an
     * archive of it unseals), no reads at a version; nothing written */
    rs_store *s = open_store(old, ro);
    assert_true(rs_store_is_versioned(s));
    uint64_t e = 0, l = 0;
    assert_int_equal(rs_store_version_range(s, &e, &l, &err), RS_OK);
    assert_int_equal(e, 58);
    assert_int_equal(l, CHAIN_LATEST);
    expect_layout1_refusal(s, CHAIN_LATEST);
    uint8_t before[RS_STORE_DIGEST_BYTES], after[RS_STORE_DIGEST_BYTES];
    assert_int_equal(rs_store_digest(s, NULL, before, NULL, &err), RS_OK);
    rs_store_close(s);
    assert_true(has_family(old, "rs_history"));

    rs_store *conv = open_store(old, chain_config(0));
    assert_false(has_family(old, "rs_history"));
    assert_int_equal(rs_store_digest(conv, NULL, after, NULL, &err), RS_OK);
    assert_memory_equal(before, after, sizeof before); /* the same content */
    char *fresh = rs_test_path(f->dir, "fresh");
    rs_store *now = open_store(fresh, chain_config(1));
    assert_int_equal(chain_steps(now), 0);
    vcmp_versions(conv, now, 0);
    /* the keys written before the first version are every version's */
    rs_store_value val = {0};
    assert_int_equal(rs_store_get_at(conv, CHAIN_LATEST, (const uint8_t *)"plain/03", 8, &val, &err), RS_OK);
    assert_memory_equal(val.data, "p3", 2);
    rs_store_value_release(&val);

    /* both go on alike: commits, a rollback, a prune round */
    rs_store *both[2] = {conv, now};
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(chain_commit(both[i], b, CHAIN_LATEST + 1, CHAIN_LATEST + 5), 0);
        assert_int_equal(rs_store_rollback(both[i], CHAIN_LATEST + 2, &err), RS_OK);
        assert_int_equal(chain_commit(both[i], b, CHAIN_LATEST + 3, CHAIN_LATEST + 6), 0);
        assert_int_equal(rs_store_prune(both[i], NULL, &err), RS_OK);
    }
    rs_store_batch_destroy(b);
    vcmp_versions(conv, now, 0);
    rs_store_close(conv);
    rs_store_close(now);
    /* converted, it reads at a version read-only too */
    s = open_store(old, ro);
    assert_int_equal(rs_store_get_at(s, CHAIN_LATEST, (const uint8_t *)"plain/03", 8, &val, &err), RS_OK);
    rs_store_value_release(&val);
    rs_store_close(s);
    free(fresh);
    free(old);
}

/* ---- the program ------------------------------------------------------ */

/* Runs `rockstream <args>` with stdout and stderr in files of dir; returns
 * the exit status, and what stderr (or stdout) said in out. */
static int run_rockstream(const char *dir, const char *args, int want_stderr, char *out, size_t cap)
{
    const char *bin = getenv("ROCKSTREAM");
    assert_non_null(bin);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s/out' 2> '%s/err'", bin, args, dir, dir);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    snprintf(cmd, sizeof cmd, "%s/%s", dir, want_stderr ? "err" : "out");
    FILE *fp = fopen(cmd, "r");
    assert_non_null(fp);
    size_t n = fread(out, 1, cap - 1, fp);
    out[n] = '\0';
    fclose(fp);
    return WEXITSTATUS(status);
}

/* versions reads layout 1's records read-only; migrate converts, with its
 * progress on stderr, and has nothing to do the second time. */
static void migrate_command_converts(void **state)
{
    struct fixture *f = *state;
    char *old = unpack_fixture(f);
    char args[2048], out[4096];
    snprintf(args, sizeof args, "versions --db '%s'", old);
    assert_int_equal(run_rockstream(f->dir, args, 0, out, sizeof out), 0);
    assert_non_null(strstr(out, "readable: [58, 75]"));
    assert_non_null(strstr(out, "kept_below_earliest: 5"));
    assert_true(has_family(old, "rs_history"));
    snprintf(args, sizeof args, "migrate --db '%s'", old);
    assert_int_equal(run_rockstream(f->dir, args, 1, out, sizeof out), 0);
    assert_non_null(strstr(out, "converting versioned state to layout 2"));
    assert_non_null(strstr(out, "finished=1"));
    assert_int_equal(run_rockstream(f->dir, args, 0, out, sizeof out), 0);
    assert_non_null(strstr(out, "latest: 75"));
    assert_non_null(strstr(out, "layout: 2"));
    assert_int_equal(run_rockstream(f->dir, args, 1, out, sizeof out), 0);
    assert_null(strstr(out, "converting")); /* nothing left to do */
    assert_false(has_family(old, "rs_history"));
    free(old);
}

/* ---- a large database of layout 1, written from the spec ------------- */

#define SK 24000 /* keys: several conversion batches */
#define SV 12    /* versions */
#define SVAL 100

/* Version v writes key i when (i + v) % 3 == 0, a delete when
 * (7i + v) % 10 == 0; the value says which write it is. */
static int s_writes(unsigned i, uint64_t v) { return (i + v) % 3 == 0; }
static int s_deletes(unsigned i, uint64_t v) { return (7 * i + v) % 10 == 0; }

static void s_value(unsigned i, uint64_t v, uint8_t out[SVAL])
{
    for (int j = 0; j < SVAL; j++)
        out[j] = (uint8_t)(i * 31 + v * 7 + (uint64_t)j);
    snprintf((char *)out, SVAL, "k%u@%" PRIu64, i, v);
}

/* The version whose write key i holds at v, 0 if absent. */
static uint64_t s_state(unsigned i, uint64_t v)
{
    for (uint64_t u = v; u >= 1; u--)
        if (s_writes(i, u))
            return s_deletes(i, u) ? 0 : u;
    return 0;
}

static int s_key(unsigned i, char out[16]) { return snprintf(out, 16, "k%06u", i); }

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

struct raw {
    rocksdb_t                      *db;
    rocksdb_column_family_handle_t *cf[4]; /* default, rs_meta, rs_history, rs_changes */
    rocksdb_writebatch_t           *wb;
    rocksdb_writeoptions_t         *wo;
};

static void raw_flush(struct raw *r, int force)
{
    if (!force && rocksdb_writebatch_count(r->wb) < 10000)
        return;
    char *errptr = NULL;
    rocksdb_write(r->db, r->wo, r->wb, &errptr);
    assert_null(errptr);
    rocksdb_writebatch_clear(r->wb);
}

/* One key: its history entries (the value before each write, tag 0x01 if
 * present) and its latest value. */
static void raw_key(struct raw *r, unsigned i)
{
    char key[16];
    uint8_t hkey[16 + 10], val[1 + SVAL];
    int kl = s_key(i, key);
    for (uint64_t v = 1; v <= SV; v++) {
        if (!s_writes(i, v))
            continue;
        memcpy(hkey, key, (size_t)kl); /* no zero bytes: escaping changes nothing */
        hkey[kl] = 0x00;
        hkey[kl + 1] = 0x01;
        put_be(hkey + kl + 2, v, 8);
        uint64_t before = s_state(i, v - 1);
        val[0] = before != 0 ? 0x01 : 0x00;
        if (before != 0)
            s_value(i, before, val + 1);
        rocksdb_writebatch_put_cf(r->wb, r->cf[2], (const char *)hkey, (size_t)kl + 10, (const char *)val,
                                  before != 0 ? 1 + SVAL : 1);
    }
    uint64_t now = s_state(i, SV);
    if (now != 0) {
        s_value(i, now, val);
        rocksdb_writebatch_put(r->wb, key, (size_t)kl, (const char *)val, SVAL);
    }
    raw_flush(r, 0);
}

/* Each version: its change list (sorted keys, LEB128 lengths: 7 < 128,
 * one byte each) and its 53-byte record; then the versions record. */
static void raw_versions(struct raw *r)
{
    char *list = malloc((size_t)SK * 8 + 16); /* snprintf's terminator past the last */
    for (uint64_t v = 1; v <= SV; v++) {
        size_t len = 0;
        uint32_t n = 0;
        for (unsigned i = 0; i < SK; i++) {
            if (!s_writes(i, v))
                continue;
            list[len++] = 7;
            len += (size_t)s_key(i, list + len);
            n++;
        }
        uint8_t ck[8], rk[16] = {'v', 'e', 'r', 's', 'i', 'o', 'n', '/'}, rec[53] = {1};
        put_be(ck, v, 8);
        put_be(rk + 8, v, 8);
        put_be(rec + 1, v, 8); /* commit_seq: any increasing number */
        put_be(rec + 9, n, 4);
        rocksdb_writebatch_put_cf(r->wb, r->cf[3], (const char *)ck, 8, list, len);
        rocksdb_writebatch_put_cf(r->wb, r->cf[1], (const char *)rk, 16, (const char *)rec, sizeof rec);
    }
    free(list);
    uint8_t vs[18] = {1, 1};
    put_be(vs + 2, SV, 8);
    put_be(vs + 10, 1, 8);
    rocksdb_writebatch_put_cf(r->wb, r->cf[1], "versions", 8, (const char *)vs, sizeof vs);
    raw_flush(r, 1);
}

static void write_layout1(const char *path)
{
    const char *names[4] = {"default", "rs_meta", "rs_history", "rs_changes"};
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    const rocksdb_options_t *cfo[4] = {o, o, o, o};
    struct raw r = {.wb = rocksdb_writebatch_create(), .wo = rocksdb_writeoptions_create()};
    char *errptr = NULL;
    r.db = rocksdb_open_column_families(o, path, 4, names, cfo, r.cf, &errptr);
    assert_null(errptr);
    for (unsigned i = 0; i < SK; i++)
        raw_key(&r, i);
    raw_versions(&r);
    for (int i = 0; i < 4; i++)
        rocksdb_column_family_handle_destroy(r.cf[i]);
    rocksdb_close(r.db);
    rocksdb_writebatch_destroy(r.wb);
    rocksdb_writeoptions_destroy(r.wo);
    rocksdb_options_destroy(o);
}

/* Every key at v, by point reads, and the count of a whole scan. */
static int count_pair(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    (*(unsigned *)arg)++;
    return 0;
}

static void expect_spec_state(rs_store *s, uint64_t v)
{
    unsigned present = 0, scanned = 0;
    char key[16];
    uint8_t want[SVAL];
    rs_err err = RS_ERR_INIT;
    for (unsigned i = 0; i < SK; i += 7) {
        int kl = s_key(i, key);
        rs_store_value val = {0};
        rs_code rc = rs_store_get_at(s, v, (const uint8_t *)key, (size_t)kl, &val, &err);
        uint64_t at = s_state(i, v);
        if (at == 0 && rc == RS_E_NOTFOUND && err.code == RS_OK)
            continue;
        s_value(i, at, want);
        if (rc != RS_OK || at == 0 || val.len != SVAL || memcmp(val.data, want, SVAL) != 0)
            fail_msg("key %u at %" PRIu64 ": rc %d, written by version %" PRIu64, i, v, rc, at);
        rs_store_value_release(&val);
    }
    for (unsigned i = 0; i < SK; i++)
        present += s_state(i, v) != 0;
    assert_int_equal(rs_store_scan_at(s, v, NULL, count_pair, &scanned, &err), RS_OK);
    assert_int_equal(scanned, present);
}

/* Runs the helper's open until its conversion says it wrote a batch, then
 * kills it -9. */
static void kill_during_conversion(const char *path)
{
    char *helper = rs_test_helper("rs_version_helper");
    char *argv[] = {helper, "open", (char *)path, NULL};
    int fd = -1;
    pid_t pid = rs_test_spawn(argv, &fd, -1);
    char line[512];
    int seen = 0;
    while (!seen && rs_test_read_line(fd, line, sizeof line, 120000) >= 0)
        seen = strstr(line, "conversion batch written") != NULL;
    if (!seen)
        fail_msg("the helper converted no batch");
    kill(pid, SIGKILL);
    assert_int_equal(rs_test_wait(pid, 30000), 128 + SIGKILL);
    close(fd);
    free(helper);
}

static void conversion_killed_midway_goes_on_at_next_open(void **state)
{
    struct fixture *f = *state;
    char *path = rs_test_path(f->dir, "big");
    write_layout1(path);
    kill_during_conversion(path);
    /* stopped in the middle: still layout 1 */
    rs_store_config ro = {.read_only = 1};
    rs_err err = RS_ERR_INIT;
    rs_store *s = open_store(path, ro);
    expect_layout1_refusal(s, SV);
    rs_store_close(s);
    assert_true(has_family(path, "rs_history"));
    s = open_store(path, (rs_store_config){.sync = RS_STORE_SYNC_NONE});
    assert_false(has_family(path, "rs_history"));
    uint64_t e = 0, l = 0;
    assert_int_equal(rs_store_version_range(s, &e, &l, &err), RS_OK);
    assert_int_equal(e, 1);
    assert_int_equal(l, SV);
    for (uint64_t v = 1; v <= SV; v += 5)
        expect_spec_state(s, v);
    expect_spec_state(s, SV);
    rs_store_close(s);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(layout1_reads_read_only_and_converts_for_writing, setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_command_converts, setup, teardown),
        cmocka_unit_test_setup_teardown(conversion_killed_midway_goes_on_at_next_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
