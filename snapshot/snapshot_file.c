/*
 * Archives as local files: a sink that writes a temporary file beside the
 * destination and renames it into place only on commit (so a failed or
 * interrupted seal never leaves a file under the final name), and a source
 * reading a file descriptor.
 */
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
#include "snapshot/snapshot_int.h"

struct rs_snapshot_file_out {
    int  fd;
    char path[PATH_MAX];
    char tmp[PATH_MAX + 32];
};

rs_code rs_snapshot_file_out_open(const char *path, rs_snapshot_file_out **out, rs_err *err)
{
    if (strlen(path) >= PATH_MAX)
        return rs_err_set(err, RS_E_INVALID, "path '%s' is too long", path);
    if (access(path, F_OK) == 0)
        return rs_err_set(err, RS_E_EXISTS, "'%s' already exists: refusing to replace it", path);
    rs_snapshot_file_out *f = calloc(1, sizeof *f);
    if (f == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    strcpy(f->path, path);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp-XXXXXX", path);
    f->fd = mkostemp(f->tmp, O_CLOEXEC);
    if (f->fd < 0) {
        int e = errno;
        free(f);
        return rs_err_sys(err, RS_E_IO, e, "creating '%s'", path);
    }
    *out = f;
    return RS_OK;
}

static rs_code file_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    rs_snapshot_file_out *f = arg;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rs_err_sys(err, RS_E_IO, errno, "writing '%s'", f->path);
        p += n;
        len -= (size_t)n;
    }
    return RS_OK;
}

rs_snapshot_sink rs_snapshot_file_out_sink(rs_snapshot_file_out *f)
{
    return (rs_snapshot_sink){.write = file_write, .arg = f};
}

rs_code rs_snapshot_file_out_commit(rs_snapshot_file_out *f, rs_err *err)
{
    if (fsync(f->fd) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "writing '%s'", f->path);
    /* link(2) fails if the name appeared meanwhile: never replace a file */
    if (link(f->tmp, f->path) != 0)
        return rs_err_sys(err, errno == EEXIST ? RS_E_EXISTS : RS_E_IO, errno, "naming '%s'", f->path);
    unlink(f->tmp);
    f->tmp[0] = '\0';
    char dir[PATH_MAX];
    strcpy(dir, f->path);
    return rs_fs_fsync_dir(dirname(dir), err);
}

void rs_snapshot_file_out_close(rs_snapshot_file_out *f)
{
    if (f == NULL)
        return;
    close(f->fd);
    if (f->tmp[0] != '\0')
        unlink(f->tmp);
    free(f);
}

static rs_code fd_read(void *arg, uint8_t *buf, size_t cap, size_t *got, rs_err *err)
{
    int fd = *(int *)arg;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rs_err_sys(err, RS_E_IO, errno, "reading the archive");
        *got = (size_t)n;
        return RS_OK;
    }
}

rs_snapshot_source rs_snapshot_fd_source(int *fd) { return (rs_snapshot_source){.read = fd_read, .arg = fd}; }
