/*
 * server/snapshot_dir.c: SNAPSHOT writes only inside its directory. A path
 * outside it, one through "..", and one through a symbolic link that leads
 * out are refused with a message; names inside it (relative to an
 * explicit --snapshot-dir, or absolute) are accepted; without the option
 * the database's parent is the directory and only absolute paths count.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/cmd.h"
#include "testlib/testlib.h"

struct dirs {
    char *tmp;     /* removed at the end */
    char *snaps;   /* tmp/snaps: the snapshot directory */
    char *outside; /* tmp/outside */
};

static int setup(void **state)
{
    struct dirs *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->tmp = rs_test_tmpdir("snapdir");
    d->snaps = rs_test_path(d->tmp, "snaps");
    d->outside = rs_test_path(d->tmp, "outside");
    assert_int_equal(mkdir(d->snaps, 0700), 0);
    assert_int_equal(mkdir(d->outside, 0700), 0);
    char *sub = rs_test_path(d->snaps, "daily");
    assert_int_equal(mkdir(sub, 0700), 0);
    free(sub);
    char *out_link = rs_test_path(d->snaps, "escape"), *in_link = rs_test_path(d->snaps, "today");
    assert_int_equal(symlink(d->outside, out_link), 0); /* leads out */
    assert_int_equal(symlink("daily", in_link), 0);     /* stays in */
    free(out_link);
    free(in_link);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dirs *d = *state;
    free(d->snaps);
    free(d->outside);
    rs_test_tmpdir_remove(d->tmp);
    free(d);
    return 0;
}

static void explicit_setup(struct server_setup *s, const char *dir)
{
    memset(s, 0, sizeof *s);
    s->cfg.snapshot_dir = dir;
    assert_int_equal(server_snapshot_dir_init(s, NULL), RS_OK);
}

/* The path SNAPSHOT arg resolves to, or NULL with err filled. */
static const char *resolve(const struct server_setup *s, const char *arg, rs_err *err)
{
    static char out[PATH_MAX];
    if (server_snapshot_path(s, (const uint8_t *)arg, strlen(arg), out, sizeof out, err) != RS_OK)
        return NULL;
    return out;
}

static void names_inside_the_directory_are_accepted(void **state)
{
    struct dirs *d = *state;
    struct server_setup s;
    explicit_setup(&s, d->snaps);
    char want[PATH_MAX], abs[PATH_MAX];
    snprintf(want, sizeof want, "%s/a.rsa", d->snaps);
    assert_string_equal(resolve(&s, "a.rsa", NULL), want);
    assert_string_equal(resolve(&s, want, NULL), want); /* absolute, inside */
    snprintf(want, sizeof want, "%s/daily/b.rsa", d->snaps);
    assert_string_equal(resolve(&s, "daily/b.rsa", NULL), want);
    snprintf(want, sizeof want, "%s/today/c.rsa", d->snaps);
    assert_string_equal(resolve(&s, "today/c.rsa", NULL), want); /* a link that stays inside */
    snprintf(abs, sizeof abs, "%s/nodir/d.rsa", d->snaps);
    assert_string_equal(resolve(&s, "nodir/d.rsa", NULL), abs); /* the seal reports a missing directory */
}

static void paths_that_leave_the_directory_are_refused(void **state)
{
    struct dirs *d = *state;
    struct server_setup s;
    explicit_setup(&s, d->snaps);
    char path[PATH_MAX];
    rs_err err = RS_ERR_INIT;
    snprintf(path, sizeof path, "%s/x.rsa", d->outside);
    assert_null(resolve(&s, path, &err));
    assert_int_equal(err.code, RS_E_INVALID);
    assert_non_null(strstr(err.msg, "is outside the snapshot directory"));
    /* a prefix that is not the directory */
    rs_err err_prefix = RS_ERR_INIT;
    snprintf(path, sizeof path, "%s-evil/x.rsa", d->snaps);
    assert_null(resolve(&s, path, &err_prefix));
    assert_non_null(strstr(err_prefix.msg, "is outside the snapshot directory"));
    static const char *const dotdot[] = {"../outside/x.rsa", "daily/../../x.rsa", "..", "a/.."};
    for (size_t i = 0; i < 4; i++) {
        rs_err e = RS_ERR_INIT;
        assert_null(resolve(&s, dotdot[i], &e));
        assert_non_null(strstr(e.msg, "holds '..'"));
    }
    rs_err err_link = RS_ERR_INIT;
    assert_null(resolve(&s, "escape/x.rsa", &err_link));
    assert_non_null(strstr(err_link.msg, "leaves the snapshot directory"));
    assert_non_null(strstr(err_link.msg, "symbolic link"));
    rs_err err_dir = RS_ERR_INIT;
    assert_null(resolve(&s, "daily/", &err_dir));
    assert_non_null(strstr(err_dir.msg, "names a directory"));
    rs_err err_ctl = RS_ERR_INIT;
    assert_null(resolve(&s, "a\nb.rsa", &err_ctl));
    assert_string_equal(err_ctl.msg, "snapshot path holds a control character (byte 1)");
    /* nothing was created anywhere */
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/x.rsa", d->outside);
    assert_int_not_equal(access(probe, F_OK), 0);
}

/* Without --snapshot-dir: the database's parent, absolute paths only, as
 * SNAPSHOT took before the option existed. */
static void the_default_is_the_databases_parent_with_absolute_paths(void **state)
{
    struct dirs *d = *state;
    struct server_setup s;
    memset(&s, 0, sizeof s);
    char *db = rs_test_path(d->snaps, "db");
    s.cfg.db_path = db;
    assert_int_equal(server_snapshot_dir_init(&s, NULL), RS_OK);
    assert_string_equal(s.snapshot_dir, d->snaps);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/a.rsa", d->snaps);
    assert_string_equal(resolve(&s, want, NULL), want);
    rs_err err = RS_ERR_INIT;
    assert_null(resolve(&s, "rel.rsa", &err));
    assert_non_null(strstr(err.msg, "snapshot path 'rel.rsa' is not absolute"));
    rs_err err_out = RS_ERR_INIT;
    snprintf(want, sizeof want, "%s/a.rsa", d->outside);
    assert_null(resolve(&s, want, &err_out));
    assert_non_null(strstr(err_out.msg, "is outside the snapshot directory"));
    free(db);
    /* a database at the root has no parent to give */
    memset(&s, 0, sizeof s);
    s.cfg.db_path = "/db";
    assert_int_equal(server_snapshot_dir_init(&s, NULL), RS_OK);
    rs_err err_root = RS_ERR_INIT;
    assert_null(resolve(&s, "/x.rsa", &err_root));
    assert_non_null(strstr(err_root.msg, "--snapshot-dir"));
}

static void a_missing_or_odd_directory_is_refused_at_start(void **state)
{
    struct dirs *d = *state;
    struct server_setup s;
    memset(&s, 0, sizeof s);
    char *missing = rs_test_path(d->tmp, "missing");
    s.cfg.snapshot_dir = missing;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(server_snapshot_dir_init(&s, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "No such file or directory"));
    free(missing);
    memset(&s, 0, sizeof s);
    s.cfg.snapshot_dir = "/";
    rs_err err_root = RS_ERR_INIT;
    assert_int_equal(server_snapshot_dir_init(&s, &err_root), RS_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(names_inside_the_directory_are_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(paths_that_leave_the_directory_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(the_default_is_the_databases_parent_with_absolute_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_or_odd_directory_is_refused_at_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
