/*
 * Archives as local files: a sink over an atomic file (common/atomic_file.h:
 * a failed or interrupted seal never leaves a file under the final name,
 * and an existing file is never replaced), an archive and its detached
 * manifest committed as a pair on top of it, and a source reading a file
 * descriptor.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "snapshot/snapshot_int.h"

/* Archives and manifests are sealed, but who may copy them is the owner's
 * choice to widen: they start private. */
#define ARCHIVE_FILE_MODE 0600

struct rs_snapshot_file_out {
    rs_atomic_file *f;
};

rs_code rs_snapshot_file_out_open(const char *path, rs_snapshot_file_out **out, rs_err *err)
{
    rs_snapshot_file_out *f = calloc(1, sizeof *f);
    if (f == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    rs_code rc = rs_atomic_file_open(path, ARCHIVE_FILE_MODE, RS_ATOMIC_FILE_NO_REPLACE, &f->f, err);
    if (rc != RS_OK) {
        free(f);
        return rc;
    }
    *out = f;
    return RS_OK;
}

static rs_code file_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    rs_snapshot_file_out *f = arg;
    return rs_atomic_file_write(f->f, p, len, err);
}

rs_snapshot_sink rs_snapshot_file_out_sink(rs_snapshot_file_out *f)
{
    return (rs_snapshot_sink){.write = file_write, .arg = f};
}

rs_code rs_snapshot_file_out_commit(rs_snapshot_file_out *f, rs_err *err)
{
    return rs_atomic_file_commit(f->f, err);
}

void rs_snapshot_file_out_close(rs_snapshot_file_out *f)
{
    if (f == NULL)
        return;
    rs_atomic_file_close(f->f);
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
    if (rc != RS_OK && rs_atomic_file_named(f->archive->f))
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
