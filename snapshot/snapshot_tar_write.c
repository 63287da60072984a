/*
 * The tar producer: checkpoint files and the manifest as pax tar entries
 * (libarchive), written straight into the next stage. Each entry carries
 * the kind chosen for it (compress or pass through), so the zstd stage
 * knows what to do with its header, data and padding. Hashes each file's
 * content as it reads it.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/snapshot_int.h"

#define READ_BYTES (1024u * 1024)

struct tar_writer {
    struct archive *a;
    struct wstage  *next;
    enum chunk_kind kind;  /* of the bytes libarchive writes now */
    rs_err          err;   /* why the next stage failed */
    uint8_t        *buf;
    void          (*on_progress)(void *arg, size_t n);
    void           *progress_arg;
};

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
    (void)a;
    struct tar_writer *tw = ctx;
    if (tw->next->ops->write(tw->next, buf, len, tw->kind, &tw->err) != RS_OK)
        return -1;
    return (la_ssize_t)len;
}

/* The next stage's error if it failed, else libarchive's. */
static rs_code fail(struct tar_writer *tw, rs_err *err, const char *what, const char *name)
{
    if (tw->err.code != RS_OK) {
        if (err != NULL && err->code == RS_OK)
            *err = tw->err;
        return tw->err.code;
    }
    return rs_err_set(err, RS_E_INTERNAL, "tar %s '%s': %s", what, name, archive_error_string(tw->a));
}

rs_code snapshot_tar_writer_open(struct wstage *next, struct tar_writer **out, rs_err *err)
{
    struct tar_writer *tw = calloc(1, sizeof *tw);
    if (tw == NULL || (tw->buf = malloc(READ_BYTES)) == NULL || (tw->a = archive_write_new()) == NULL) {
        snapshot_tar_writer_destroy(tw);
        return rs_err_set(err, RS_E_NOMEM, "tar: out of memory");
    }
    tw->next = next;
    tw->kind = CHUNK_ZSTD;
    archive_write_set_format_pax_restricted(tw->a);
    /* no 10 KiB blocking: bytes reach the next stage as they are written,
     * so each entry's bytes carry that entry's kind */
    archive_write_set_bytes_per_block(tw->a, 0);
    if (archive_write_open(tw->a, tw, NULL, write_cb, NULL) != ARCHIVE_OK) {
        rs_code rc = fail(tw, err, "open", "");
        snapshot_tar_writer_destroy(tw);
        return rc;
    }
    *out = tw;
    return RS_OK;
}

void snapshot_tar_writer_on_progress(struct tar_writer *tw, void (*fn)(void *arg, size_t n), void *arg)
{
    tw->on_progress = fn;
    tw->progress_arg = arg;
}

static rs_code begin_entry(struct tar_writer *tw, const char *name, uint64_t size, enum chunk_kind kind, rs_err *err)
{
    struct archive_entry *e = archive_entry_new();
    if (e == NULL)
        return rs_err_set(err, RS_E_NOMEM, "tar: out of memory");
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    tw->kind = kind;
    int r = archive_write_header(tw->a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? RS_OK : fail(tw, err, "header of", name);
}

static rs_code write_data(struct tar_writer *tw, const char *name, const uint8_t *p, size_t len, rs_err *err)
{
    la_ssize_t w = archive_write_data(tw->a, p, len);
    if (w != (la_ssize_t)len)
        return fail(tw, err, "data of", name);
    if (tw->on_progress != NULL)
        tw->on_progress(tw->progress_arg, len);
    return RS_OK;
}

static rs_code end_entry(struct tar_writer *tw, const char *name, rs_err *err)
{
    return archive_write_finish_entry(tw->a) == ARCHIVE_OK ? RS_OK : fail(tw, err, "end of", name);
}

rs_code snapshot_tar_writer_add_fd(struct tar_writer *tw, const char *name, int fd, uint64_t size, enum chunk_kind kind,
                                   uint8_t hash[RS_SNAPSHOT_HASH_BYTES], rs_err *err)
{
    struct content_hash hs;
    rs_code rc = snapshot_content_hash_init(&hs, err);
    if (rc != RS_OK)
        return rc;
    rc = begin_entry(tw, name, size, kind, err);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint64_t done = 0;
    while (rc == RS_OK) {
        ssize_t n = read(fd, tw->buf, READ_BYTES);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = rs_err_sys(err, RS_E_IO, errno, "reading '%s'", name);
            break;
        }
        if (n == 0)
            break;
        /* a checkpoint's files never change: a size change means someone
         * is writing into the checkpoint */
        if (done + (uint64_t)n > size) {
            rc = rs_err_set(err, RS_E_IO, "'%s' grew while being sealed", name);
            break;
        }
        snapshot_content_hash_update(&hs, tw->buf, (size_t)n);
        rc = write_data(tw, name, tw->buf, (size_t)n, err);
        done += (uint64_t)n;
    }
    if (rc == RS_OK && done != size)
        rc = rs_err_set(err, RS_E_IO, "'%s' shrank from %llu to %llu bytes while being sealed", name,
                        (unsigned long long)size, (unsigned long long)done);
    if (rc == RS_OK)
        rc = end_entry(tw, name, err);
    snapshot_content_hash_final(&hs, hash);
    return rc;
}

rs_code snapshot_tar_writer_add_bytes(struct tar_writer *tw, const char *name, const uint8_t *p, size_t len,
                                      enum chunk_kind kind, rs_err *err)
{
    rs_code rc = begin_entry(tw, name, len, kind, err);
    if (rc == RS_OK && len > 0)
        rc = write_data(tw, name, p, len, err);
    if (rc == RS_OK)
        rc = end_entry(tw, name, err);
    return rc;
}

rs_code snapshot_tar_writer_close(struct tar_writer *tw, rs_err *err)
{
    return archive_write_close(tw->a) == ARCHIVE_OK ? RS_OK : fail(tw, err, "end", "archive");
}

void snapshot_tar_writer_destroy(struct tar_writer *tw)
{
    if (tw == NULL)
        return;
    if (tw->a != NULL)
        archive_write_free(tw->a);
    free(tw->buf);
    free(tw);
}
