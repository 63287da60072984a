/*
 * Archives as local files: a sink that writes a temporary file beside the
 * destination and renames it into place only on commit (so a failed or
 * interrupted seal never leaves a file under the final name), an archive
 * and its detached manifest committed as a pair on top of it, and a source
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
    snprintf(f->tmp, sizeof f->tmp, "%s" SNAPSHOT_TEMP_MARK "%ld-XXXXXX", path, (long)getpid());
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

/* ---- an archive and its manifest ------------------------------------ */

struct rs_snapshot_files {
    rs_snapshot_file_out *archive, *manifest;
    char archive_path[PATH_MAX];
    char manifest_path[PATH_MAX];
};

rs_code rs_snapshot_files_open(const char *archive_path, const char *manifest_path, rs_snapshot_files **out,
                               rs_err *err)
{
    rs_snapshot_files *f = calloc(1, sizeof *f);
    if (f == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    rs_code rc = RS_OK;
    if (strlen(archive_path) + sizeof RS_SNAPSHOT_MANIFEST_SUFFIX > PATH_MAX ||
        (manifest_path != NULL && strlen(manifest_path) >= PATH_MAX))
        rc = rs_err_set(err, RS_E_INVALID, "path '%s' is too long", archive_path);
    if (rc == RS_OK) {
        /* a crashed writer's temporaries in the same place go first */
        char dir[PATH_MAX];
        strcpy(dir, archive_path);
        rs_snapshot_sweep(NULL, dirname(dir));
        strcpy(f->archive_path, archive_path);
        if (manifest_path != NULL)
            strcpy(f->manifest_path, manifest_path);
        else
            snprintf(f->manifest_path, sizeof f->manifest_path, "%s" RS_SNAPSHOT_MANIFEST_SUFFIX, archive_path);
        rc = rs_snapshot_file_out_open(f->archive_path, &f->archive, err);
    }
    if (rc == RS_OK)
        rc = rs_snapshot_file_out_open(f->manifest_path, &f->manifest, err);
    if (rc != RS_OK) {
        rs_snapshot_files_close(f);
        return rc;
    }
    *out = f;
    return RS_OK;
}

rs_snapshot_sink rs_snapshot_files_sink(rs_snapshot_files *f) { return rs_snapshot_file_out_sink(f->archive); }
const char *rs_snapshot_files_archive_path(const rs_snapshot_files *f) { return f->archive_path; }
const char *rs_snapshot_files_manifest_path(const rs_snapshot_files *f) { return f->manifest_path; }

static rs_code write_manifest(rs_snapshot_files *f, const rs_snapshot_manifest *m, rs_err *err)
{
    uint8_t *text = NULL;
    size_t len = 0;
    rs_code rc = rs_snapshot_manifest_encode(m, &text, &len, err);
    rs_snapshot_sink sink = rs_snapshot_file_out_sink(f->manifest);
    if (rc == RS_OK)
        rc = sink.write(sink.arg, text, len, err);
    if (rc == RS_OK)
        rc = rs_snapshot_file_out_commit(f->manifest, err);
    free(text);
    if (rc != RS_OK)
        rs_err_prefix(err, "manifest '%s'", f->manifest_path);
    return rc;
}

rs_code rs_snapshot_files_commit(rs_snapshot_files *f, const rs_snapshot_manifest *m, rs_err *err)
{
    rs_code rc = rs_snapshot_file_out_commit(f->archive, err);
    if (rc == RS_OK)
        rc = write_manifest(f, m, err);
    /* named by us a moment ago (its temporary is gone), and no manifest
     * will ever name it: no half snapshot stays behind */
    if (rc != RS_OK && f->archive->tmp[0] == '\0')
        unlink(f->archive_path);
    return rc;
}

void rs_snapshot_files_close(rs_snapshot_files *f)
{
    if (f == NULL)
        return;
    rs_snapshot_file_out_close(f->archive);
    rs_snapshot_file_out_close(f->manifest);
    free(f);
}
