/* File-system helpers; see fs.h. */
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

rs_code rs_fs_mkdir_p(const char *dir, unsigned mode, rs_err *err)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return rs_err_set(err, RS_E_INVALID, "directory path '%s' is empty or too long", dir);
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, (mode_t)mode) != 0 && errno != EEXIST)
            return rs_err_sys(err, RS_E_IO, errno, "create directory '%s'", path);
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return rs_err_set(err, RS_E_IO, "'%s' exists and is not a directory", dir);
    return RS_OK;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

rs_code rs_fs_remove_tree(const char *path, rs_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? RS_OK : rs_err_sys(err, RS_E_IO, errno, "remove '%s'", path);
    /* FTW_DEPTH: children before their directory; FTW_PHYS: a symlink is
     * removed, never followed */
    if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "remove '%s'", path);
    return RS_OK;
}

rs_code rs_fs_fsync_dir(const char *dir, rs_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "open directory '%s'", dir);
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return rs_err_sys(err, RS_E_IO, saved, "fsync directory '%s'", dir);
    return RS_OK;
}

static _Thread_local uint64_t tree_total;

static int add_size(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F)
        tree_total += (uint64_t)st->st_size;
    return 0;
}

rs_code rs_fs_tree_bytes(const char *path, uint64_t *out, rs_err *err)
{
    tree_total = 0;
    if (nftw(path, add_size, 32, FTW_PHYS) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "measure '%s'", path);
    *out = tree_total;
    return RS_OK;
}
