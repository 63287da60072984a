/*
 * The tar consumer: reads the plain tar stream (libarchive) and extracts it
 * into one directory, trusting nothing. A snapshot archive holds
 * "db/<file>" regular files and "manifest.json", nothing else: absolute
 * paths, "..", nested names, links of either kind and special files are
 * refused by name, before a byte is written. Files are created exclusively
 * (a repeated name is refused), hashed as they are written, and fsync'd.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/array.h"
#include "common/tar_entry.h"
#include "snapshot/snapshot_int.h"

#define READ_BYTES (1024u * 1024)
#define MAX_FILES  1000000u /* a checkpoint has thousands at most */

struct reader {
    struct archive *a;
    struct rstage  *prev;
    uint8_t        *buf;     /* what libarchive reads from */
    uint8_t        *data;    /* what entry data is copied into */
    rs_err          err;     /* why the previous stage failed */
    size_t          cap_files;
};

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **out)
{
    (void)a;
    struct reader *r = ctx;
    size_t got = 0;
    enum chunk_kind kind;
    if (r->prev->ops->read(r->prev, r->buf, READ_BYTES, &got, &kind, &r->err) != RS_OK)
        return -1;
    *out = r->buf;
    return (la_ssize_t)got;
}

static rs_code fail(struct reader *r, rs_err *err, const char *what)
{
    if (r->err.code != RS_OK) {
        if (err != NULL && err->code == RS_OK)
            *err = r->err;
        return r->err.code;
    }
    return rs_err_set(err, RS_E_CORRUPT, "archive %s: %s", what, archive_error_string(r->a));
}

/* ---- what an entry may be ------------------------------------------- */

_Static_assert(sizeof ((struct extracted_file *)0)->name > RS_TAR_NAME_MAX, "a plain name fits extracted_file");

/* Returns the file name under db/ (or TAR_MANIFEST_NAME), or NULL with err
 * set when the entry may not be extracted (common/tar_entry.h's rule). */
static const char *safe_name(struct archive_entry *e, rs_err *err)
{
    const char *path = archive_entry_pathname(e);
    int manifest = path != NULL && strcmp(path, TAR_MANIFEST_NAME) == 0;
    const char *name = NULL;
    if (rs_tar_entry_check(e, manifest ? "" : TAR_DB_PREFIX, "a snapshot", &name, err) != RS_OK) {
        rs_err_prefix(err, "archive");
        return NULL;
    }
    return manifest ? path : name;
}

/* ---- extraction ----------------------------------------------------- */

static rs_code read_manifest(struct reader *r, struct archive_entry *e, struct extract_result *res, rs_err *err)
{
    la_int64_t size = archive_entry_size(e);
    if (res->manifest != NULL)
        return rs_err_set(err, RS_E_CORRUPT, "archive holds two manifests");
    if (size < 0 || (uint64_t)size > MANIFEST_MAX_BYTES)
        return rs_err_set(err, RS_E_CORRUPT, "archive manifest is %lld bytes, above the limit of %u",
                          (long long)size, MANIFEST_MAX_BYTES);
    if ((res->manifest = malloc((size_t)size + 1)) == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory for a %lld-byte manifest", (long long)size);
    la_ssize_t got = size > 0 ? archive_read_data(r->a, res->manifest, (size_t)size) : 0;
    if (got != size)
        return fail(r, err, "manifest");
    res->manifest[size] = '\0';
    res->manifest_len = (size_t)size;
    return RS_OK;
}

static rs_code write_all(int fd, const char *name, const uint8_t *p, size_t len, rs_err *err)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rs_err_sys(err, RS_E_IO, errno, "writing '%s'", name);
        p += n;
        len -= (size_t)n;
    }
    return RS_OK;
}

static rs_code copy_data(struct reader *r, int fd, struct extracted_file *f, rs_err *err)
{
    struct content_hash hs;
    rs_code rc = snapshot_content_hash_init(&hs, err);
    while (rc == RS_OK) {
        la_ssize_t n = archive_read_data(r->a, r->data, READ_BYTES);
        if (n < 0)
            rc = fail(r, err, "data");
        if (n <= 0)
            break;
        snapshot_content_hash_update(&hs, r->data, (size_t)n);
        rc = write_all(fd, f->name, r->data, (size_t)n, err);
        f->size += (uint64_t)n;
    }
    if (rc != RS_OK) {
        snapshot_content_hash_release(&hs);
        return rc;
    }
    snapshot_content_hash_final(&hs, f->hash);
    if (fsync(fd) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "writing '%s'", f->name);
    return RS_OK;
}

static rs_code extract_file(struct reader *r, int dirfd, const char *name, struct extract_result *res, rs_err *err)
{
    if (res->n_files == MAX_FILES)
        return rs_err_set(err, RS_E_CORRUPT, "archive holds more than %u files", MAX_FILES);
    struct extracted_file *grown = rs_array_grow(res->files, &r->cap_files, res->n_files, sizeof *grown, 64);
    if (grown == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory for the file list");
    res->files = grown;
    struct extracted_file *f = &res->files[res->n_files];
    memset(f, 0, sizeof *f);
    strcpy(f->name, name);
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST)
            return rs_err_set(err, RS_E_CORRUPT, "archive holds '%s' twice", name);
        return rs_err_sys(err, RS_E_IO, e, "creating '%s'", name);
    }
    res->n_files++;
    rs_code rc = copy_data(r, fd, f, err);
    close(fd);
    return rc;
}

/* After the end-of-archive marker only zero padding may follow; reading
 * on to the end makes the decrypt stage check the final chunk. */
static rs_code drain(struct reader *r, rs_err *err)
{
    for (;;) {
        size_t got = 0;
        enum chunk_kind kind;
        rs_code rc = r->prev->ops->read(r->prev, r->buf, READ_BYTES, &got, &kind, err);
        if (rc != RS_OK || got == 0)
            return rc;
        for (size_t i = 0; i < got; i++)
            if (r->buf[i] != 0)
                return rs_err_set(err, RS_E_CORRUPT, "archive has data after the end of its tar stream");
    }
}

static rs_code extract_entries(struct reader *r, int dirfd, struct extract_result *res, rs_err *err)
{
    struct archive_entry *e = NULL;
    for (;;) {
        int h = archive_read_next_header(r->a, &e);
        if (h == ARCHIVE_EOF)
            return drain(r, err);
        if (h < ARCHIVE_WARN)
            return fail(r, err, "entry header");
        const char *name = safe_name(e, err);
        if (name == NULL)
            return err != NULL ? err->code : RS_E_CORRUPT;
        rs_code rc = name == archive_entry_pathname(e) ? read_manifest(r, e, res, err)
                                                       : extract_file(r, dirfd, name, res, err);
        if (rc != RS_OK)
            return rc;
    }
}

rs_code snapshot_tar_extract(struct rstage *prev, int dirfd, struct extract_result *res, rs_err *err)
{
    memset(res, 0, sizeof *res);
    struct reader r = {.prev = prev, .err = RS_ERR_INIT};
    r.buf = malloc(READ_BYTES);
    r.data = malloc(READ_BYTES);
    r.a = archive_read_new();
    rs_code rc = RS_OK;
    if (r.buf == NULL || r.data == NULL || r.a == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "tar: out of memory");
    if (rc == RS_OK) {
        archive_read_support_format_tar(r.a);
        if (archive_read_open(r.a, &r, NULL, read_cb, NULL) != ARCHIVE_OK)
            rc = fail(&r, err, "open");
    }
    if (rc == RS_OK)
        rc = extract_entries(&r, dirfd, res, err);
    if (r.a != NULL)
        archive_read_free(r.a);
    free(r.buf);
    free(r.data);
    return rc;
}

void snapshot_extract_result_release(struct extract_result *res)
{
    free(res->files);
    free(res->manifest);
    memset(res, 0, sizeof *res);
}
