/* Which tar entries may be extracted; see tar_entry.h. The checks run in
 * the order a person fixing the archive would want to hear about them:
 * what the entry is (a link, a device) before where its name points. */
#include "common/tar_entry.h"

#include <string.h>

static int name_is_plain(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > RS_TAR_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '/' || name[i] < 0x20 || name[i] > 0x7e)
            return 0;
    return 1;
}

/* A ".." component anywhere: "..", "../x", "x/..", "x/../y". */
static int has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

/* What the entry is, whatever its name: links and special files are
 * refused. */
static rs_code check_kind(struct archive_entry *e, const char *path, rs_err *err)
{
    const char *link = archive_entry_hardlink(e);
    if (link != NULL)
        return rs_err_set(err, RS_E_CORRUPT, "tar entry '%s' is a hard link to '%s': refused", path, link);
    if (archive_entry_filetype(e) == AE_IFLNK) {
        const char *to = archive_entry_symlink(e);
        return rs_err_set(err, RS_E_CORRUPT, "tar entry '%s' is a symbolic link to '%s': refused", path,
                          to != NULL ? to : "?");
    }
    return RS_OK;
}

rs_code rs_tar_entry_check(struct archive_entry *e, const char *prefix, const char *held, const char **name,
                           rs_err *err)
{
    const char *path = archive_entry_pathname(e);
    if (path == NULL || path[0] == '\0')
        return rs_err_set(err, RS_E_CORRUPT, "tar entry without a name: refused");
    rs_code rc = check_kind(e, path, err);
    if (rc != RS_OK)
        return rc;
    if (path[0] == '/')
        return rs_err_set(err, RS_E_CORRUPT, "tar entry '%s' has an absolute path: refused", path);
    if (has_dotdot(path))
        return rs_err_set(err, RS_E_CORRUPT, "tar entry '%s' leads outside the target directory: refused", path);
    if (archive_entry_filetype(e) != AE_IFREG)
        return rs_err_set(err, RS_E_CORRUPT, "tar entry '%s' is not a regular file: refused", path);
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0 || !name_is_plain(path + n))
        return rs_err_set(err, RS_E_CORRUPT, "tar entry '%s' is not part of %s: refused", path, held);
    *name = path + n;
    return RS_OK;
}
