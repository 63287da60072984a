/*
 * common/tar_entry: the one rule for the entries of an untrusted tar. A
 * plain file under the prefix passes and yields its name; every way out of
 * the target directory (absolute, "..", links of either kind), special
 * files, nested, foreign and malformed names is refused with the entry
 * named.
 */
#include <archive_entry.h>
#include <string.h>

#include "common/tar_entry.h"
#include "testlib/testlib.h"

struct entry_spec {
    const char *path;
    unsigned    type;      /* AE_IFREG, ...; 0 for a hard link */
    const char *link;      /* symlink target or hard-link target */
};

static struct archive_entry *make(const struct entry_spec *s)
{
    struct archive_entry *e = archive_entry_new();
    assert_non_null(e);
    archive_entry_set_pathname(e, s->path);
    archive_entry_set_filetype(e, s->type != 0 ? s->type : AE_IFREG);
    if (s->type == AE_IFLNK)
        archive_entry_set_symlink(e, s->link);
    else if (s->link != NULL)
        archive_entry_set_hardlink(e, s->link);
    return e;
}

static void assert_refused(const struct entry_spec *s, const char *prefix, const char *want)
{
    struct archive_entry *e = make(s);
    const char *name = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_tar_entry_check(e, prefix, "a snapshot", &name, &err), RS_E_CORRUPT);
    if (strstr(err.msg, want) == NULL)
        fail_msg("entry '%s': expected '%s' in: %s", s->path, want, err.msg);
    assert_null(name);
    archive_entry_free(e);
}

static void plain_file_under_the_prefix_passes(void **state)
{
    (void)state;
    const struct entry_spec ok[] = {{"db/000012.sst", AE_IFREG, NULL}, {"db/MANIFEST-000005", AE_IFREG, NULL},
                                    {"db/..x", AE_IFREG, NULL}, {"db/a b", AE_IFREG, NULL}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct archive_entry *e = make(&ok[i]);
        const char *name = NULL;
        rs_err err = RS_ERR_INIT;
        assert_int_equal(rs_tar_entry_check(e, "db/", "a snapshot", &name, &err), RS_OK);
        assert_string_equal(name, ok[i].path + 3);
        archive_entry_free(e);
    }
    /* an empty prefix: the name is the whole path */
    const struct entry_spec top = {"CURRENT", AE_IFREG, NULL};
    struct archive_entry *e = make(&top);
    const char *name = NULL;
    assert_int_equal(rs_tar_entry_check(e, "", "a checkpoint", &name, NULL), RS_OK);
    assert_string_equal(name, "CURRENT");
    archive_entry_free(e);
}

static void ways_out_of_the_directory_are_refused(void **state)
{
    (void)state;
    assert_refused(&(struct entry_spec){"/etc/passwd", AE_IFREG, NULL}, "db/",
                   "tar entry '/etc/passwd' has an absolute path: refused");
    assert_refused(&(struct entry_spec){"db/../../escaped", AE_IFREG, NULL}, "db/",
                   "'db/../../escaped' leads outside the target directory: refused");
    assert_refused(&(struct entry_spec){"..", AE_IFREG, NULL}, "", "leads outside");
    assert_refused(&(struct entry_spec){"db/x/..", AE_IFREG, NULL}, "db/", "leads outside");
    assert_refused(&(struct entry_spec){"db/LOG", AE_IFLNK, "/etc/passwd"}, "db/",
                   "'db/LOG' is a symbolic link to '/etc/passwd': refused");
    assert_refused(&(struct entry_spec){"db/x.sst", 0, "../../etc/shadow"}, "db/",
                   "'db/x.sst' is a hard link to '../../etc/shadow': refused");
}

static void special_files_are_refused(void **state)
{
    (void)state;
    assert_refused(&(struct entry_spec){"db/fifo", AE_IFIFO, NULL}, "db/", "'db/fifo' is not a regular file");
    assert_refused(&(struct entry_spec){"db/sub", AE_IFDIR, NULL}, "db/", "'db/sub' is not a regular file");
    assert_refused(&(struct entry_spec){"db/sda", AE_IFBLK, NULL}, "db/", "is not a regular file");
}

static void names_that_are_not_plain_are_refused(void **state)
{
    (void)state;
    assert_refused(&(struct entry_spec){"db/sub/x", AE_IFREG, NULL}, "db/",
                   "tar entry 'db/sub/x' is not part of a snapshot: refused");
    assert_refused(&(struct entry_spec){"README", AE_IFREG, NULL}, "db/", "'README' is not part of a snapshot");
    assert_refused(&(struct entry_spec){"db/", AE_IFREG, NULL}, "db/", "is not part of");
    assert_refused(&(struct entry_spec){"db/.", AE_IFREG, NULL}, "db/", "is not part of");
    assert_refused(&(struct entry_spec){"db/a\nb", AE_IFREG, NULL}, "db/", "is not part of");
    assert_refused(&(struct entry_spec){"db/\xc3\xa9", AE_IFREG, NULL}, "db/", "is not part of");
    assert_refused(&(struct entry_spec){"", AE_IFREG, NULL}, "db/", "tar entry without a name: refused");
    char name[3 + RS_TAR_NAME_MAX + 2] = "db/";
    memset(name + 3, 'a', RS_TAR_NAME_MAX);
    struct archive_entry *e = make(&(struct entry_spec){name, AE_IFREG, NULL});
    const char *got = NULL;
    assert_int_equal(rs_tar_entry_check(e, "db/", "a snapshot", &got, NULL), RS_OK); /* 255: the longest */
    archive_entry_free(e);
    name[3 + RS_TAR_NAME_MAX] = 'a'; /* 256: the message is cut, the entry still named */
    assert_refused(&(struct entry_spec){name, AE_IFREG, NULL}, "db/", "tar entry 'db/aaaa");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_file_under_the_prefix_passes),
        cmocka_unit_test(ways_out_of_the_directory_are_refused),
        cmocka_unit_test(special_files_are_refused),
        cmocka_unit_test(names_that_are_not_plain_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
