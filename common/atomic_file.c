/* Atomic file writes; see atomic_file.h. */
#include "common/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"

struct rs_atomic_file {
    int      fd;
    unsigned flags;
    int      named;
    unsigned mode;
    char     path[PATH_MAX];
    char     tmp[PATH_MAX + 40]; /* path + ".tmp-<pid>-XXXXXX"; "" once gone */
};

static rs_code refuse_existing(const char *path, rs_err *err)
{
    return rs_err_sys(err, RS_E_EXISTS, EEXIST, "'%s' already exists: refusing to replace it", path);
}

rs_code rs_atomic_file_open(const char *path, unsigned mode, unsigned flags, rs_atomic_file **out, rs_err *err)
{
    if (path == NULL || path[0] == '\0' || strlen(path) >= PATH_MAX)
        return rs_err_set(err, RS_E_INVALID, "path '%s' is empty or too long", path != NULL ? path : "");
    struct stat st;
    if ((flags & RS_ATOMIC_FILE_NO_REPLACE) && lstat(path, &st) == 0)
        return refuse_existing(path, err);
    rs_atomic_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        return rs_err_set(err, RS_E_NOMEM, "'%s': out of memory", path);
    f->flags = flags;
    f->mode = mode;
    strcpy(f->path, path);
    /* the pid lets a later process tell a crashed writer's temporary from
     * a live one's (common/stale.h) */
    snprintf(f->tmp, sizeof f->tmp, "%s" RS_ATOMIC_FILE_TEMP_MARK "%ld-XXXXXX", path, (long)getpid());
    f->fd = mkostemp(f->tmp, O_CLOEXEC);
    if (f->fd < 0) {
        int e = errno;
        free(f);
        return rs_err_sys(err, RS_E_IO, e, "creating '%s'", path);
    }
    *out = f;
    return RS_OK;
}

rs_code rs_atomic_file_write(rs_atomic_file *f, const void *p, size_t len, rs_err *err)
{
    const char *b = p;
    while (len > 0) {
        ssize_t n = write(f->fd, b, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rs_err_sys(err, RS_E_IO, errno, "writing '%s'", f->path);
        b += n;
        len -= (size_t)n;
    }
    return RS_OK;
}

/* rename(2) replaces whatever has the name; link(2) fails if the name
 * appeared since open, so NO_REPLACE holds even against a race. */
static rs_code give_name(rs_atomic_file *f, rs_err *err)
{
    if (!(f->flags & RS_ATOMIC_FILE_NO_REPLACE)) {
        if (rename(f->tmp, f->path) != 0)
            return rs_err_sys(err, RS_E_IO, errno, "naming '%s'", f->path);
    } else {
        if (link(f->tmp, f->path) != 0)
            return errno == EEXIST ? refuse_existing(f->path, err)
                                   : rs_err_sys(err, RS_E_IO, errno, "naming '%s'", f->path);
        unlink(f->tmp);
    }
    f->tmp[0] = '\0';
    f->named = 1;
    return RS_OK;
}

rs_code rs_atomic_file_commit(rs_atomic_file *f, rs_err *err)
{
    /* mkostemp made it 0600: the final mode only once the bytes are in */
    if (fchmod(f->fd, (mode_t)f->mode) != 0 || fsync(f->fd) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "writing '%s'", f->path);
    rs_code rc = give_name(f, err);
    if (rc != RS_OK)
        return rc;
    char dir[PATH_MAX];
    strcpy(dir, f->path);
    return rs_fs_fsync_dir(dirname(dir), err);
}

int rs_atomic_file_named(const rs_atomic_file *f) { return f->named; }

void rs_atomic_file_close(rs_atomic_file *f)
{
    if (f == NULL)
        return;
    close(f->fd);
    if (f->tmp[0] != '\0')
        unlink(f->tmp);
    free(f);
}

rs_code rs_atomic_file_put(const char *path, const void *p, size_t len, unsigned mode, unsigned flags,
                           rs_err *err)
{
    rs_atomic_file *f = NULL;
    rs_code rc = rs_atomic_file_open(path, mode, flags, &f, err);
    if (rc != RS_OK)
        return rc;
    rc = rs_atomic_file_write(f, p, len, err);
    if (rc == RS_OK)
        rc = rs_atomic_file_commit(f, err);
    rs_atomic_file_close(f);
    return rc;
}
