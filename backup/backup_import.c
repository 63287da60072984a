/*
 * Imports: an archive read from a local path or an object URL for
 * rs_snapshot_unseal, with its detached manifest read and checked first.
 * From a URL the archive streams through a parallel ranged reader, so
 * downloading and unsealing overlap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"

struct rs_backup_import {
    int fd;                      /* a local archive, or -1 */
    rs_objstore *store;          /* an archive at a URL */
    rs_objstore_reader *reader;
    uint64_t size;
    rs_snapshot_manifest *manifest;
};

/* ------------------------------------------------------------------ */
/* The detached manifest                                               */
/* ------------------------------------------------------------------ */

static rs_code read_local(const char *path, uint8_t **out, size_t *len, rs_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rs_err_sys(err, errno == ENOENT ? RS_E_NOTFOUND : RS_E_IO, errno, "reading '%s'", path);
    struct stat st;
    uint8_t *buf = NULL;
    rs_code rc = fstat(fd, &st) == 0 ? RS_OK : rs_err_sys(err, RS_E_IO, errno, "reading '%s'", path);
    if (rc == RS_OK && (uint64_t)st.st_size > RS_BACKUP_MANIFEST_MAX)
        rc = rs_err_set(err, RS_E_CORRUPT, "'%s' is %lld bytes, above the limit of %u", path, (long long)st.st_size,
                        RS_BACKUP_MANIFEST_MAX);
    if (rc == RS_OK && (buf = malloc((size_t)st.st_size + 1)) == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
    if (rc == RS_OK && read(fd, buf, (size_t)st.st_size) != (ssize_t)st.st_size)
        rc = rs_err_sys(err, RS_E_IO, errno, "reading '%s'", path);
    close(fd);
    if (rc != RS_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = (size_t)st.st_size;
    return RS_OK;
}

static rs_code read_url(const char *url, const rs_objstore_options *opt, uint8_t **out, size_t *len, rs_err *err)
{
    rs_objstore *s = NULL;
    char *key = NULL;
    rs_code rc = rs_objstore_open_object(url, opt, &s, &key, err);
    if (rc == RS_OK)
        rc = rs_objstore_get_all(s, key, RS_BACKUP_MANIFEST_MAX, out, len, NULL, err);
    rs_objstore_close(s);
    free(key);
    return rc;
}

/* Reads and checks the manifest; a missing one is fine unless required. */
static rs_code load_manifest(rs_backup_import *im, const char *name, int required, const rs_snapshot_key *key,
                             const rs_objstore_options *opt, rs_err *err)
{
    uint8_t *text = NULL;
    size_t len = 0;
    rs_code rc = rs_objstore_is_url(name) ? read_url(name, opt, &text, &len, err) : read_local(name, &text, &len, err);
    if (rc == RS_E_NOTFOUND && !required) {
        rs_err_clear(err);
        return RS_OK;
    }
    if (rc == RS_OK)
        rc = rs_snapshot_manifest_decode(text, len, key, &im->manifest, err);
    free(text);
    if (rc != RS_OK)
        rs_err_prefix(err, "manifest '%s'", name);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The archive                                                         */
/* ------------------------------------------------------------------ */

static rs_code open_archive(rs_backup_import *im, const char *src, const rs_objstore_options *opt, rs_err *err)
{
    if (!rs_objstore_is_url(src)) {
        struct stat st;
        if ((im->fd = open(src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(im->fd, &st) != 0)
            return rs_err_sys(err, errno == ENOENT ? RS_E_NOTFOUND : RS_E_IO, errno, "archive '%s'", src);
        im->size = (uint64_t)st.st_size;
        return RS_OK;
    }
    char *key = NULL;
    rs_code rc = rs_objstore_open_object(src, opt, &im->store, &key, err);
    if (rc == RS_OK)
        rc = rs_objstore_reader_open(im->store, key, &im->reader, err);
    if (rc == RS_OK)
        im->size = rs_objstore_reader_info(im->reader)->size_bytes;
    free(key);
    return rc;
}

rs_code rs_backup_import_open(const char *src, const char *manifest_src, rs_backup_manifest_use use,
                              const rs_snapshot_key *key, const rs_objstore_options *store_opt,
                              rs_backup_import **out, rs_err *err)
{
    if (manifest_src != NULL && use == RS_BACKUP_MANIFEST_IF_PRESENT)
        use = RS_BACKUP_MANIFEST_REQUIRED; /* one named must be there */
    rs_backup_import *im = calloc(1, sizeof *im);
    if (im == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    im->fd = -1;
    char *default_name = NULL;
    rs_code rc = RS_OK;
    if (use != RS_BACKUP_MANIFEST_NONE && manifest_src == NULL) {
        if (asprintf(&default_name, "%s" RS_SNAPSHOT_MANIFEST_SUFFIX, src) < 0)
            rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
        manifest_src = default_name;
    }
    /* the manifest first: a wrong key stops everything before the archive */
    if (rc == RS_OK && use != RS_BACKUP_MANIFEST_NONE)
        rc = load_manifest(im, manifest_src, use == RS_BACKUP_MANIFEST_REQUIRED, key, store_opt, err);
    if (rc == RS_OK)
        rc = open_archive(im, src, store_opt, err);
    free(default_name);
    if (rc != RS_OK) {
        rs_backup_import_close(im);
        return rc;
    }
    *out = im;
    return RS_OK;
}

static rs_code reader_read(void *arg, uint8_t *buf, size_t cap, size_t *got, rs_err *err)
{
    return rs_objstore_reader_read(arg, buf, cap, got, err);
}

rs_snapshot_source rs_backup_import_source(rs_backup_import *im)
{
    if (im->reader == NULL)
        return rs_snapshot_fd_source(&im->fd);
    return (rs_snapshot_source){.read = reader_read, .arg = im->reader};
}

const rs_snapshot_manifest *rs_backup_import_manifest(const rs_backup_import *im)
{
    return im->manifest;
}

uint64_t rs_backup_import_size(const rs_backup_import *im)
{
    return im->size;
}

void rs_backup_import_close(rs_backup_import *im)
{
    if (im == NULL)
        return;
    if (im->fd >= 0)
        close(im->fd);
    rs_objstore_reader_close(im->reader);
    rs_objstore_close(im->store);
    rs_snapshot_manifest_destroy(im->manifest);
    free(im);
}
