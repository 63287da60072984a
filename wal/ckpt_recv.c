/*
 * The follower's half of a resync: reads the tar stream of CKPT_DATA
 * frames with libarchive and writes each entry as a new file in a fresh
 * directory. Only regular files with plain names are accepted (no
 * directories, links, absolute paths or ".."), sizes are bounded by what
 * CKPT_BEGIN announced, and the stream's length and XXH3 must match
 * CKPT_END. Nothing is installed here: the caller opens and checks the
 * result before it replaces anything.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* header-only xxhash: the streaming state is a plain struct, with no ABI
 * tie to the shared library's version */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/endian.h"
#include "common/fs.h"
#include "common/tar_entry.h"
#include "wal/wal_int.h"

struct receiver {
    wal_conn    *conn;
    uint32_t     timeout_ms;
    uint64_t     got;         /* tar bytes so far */
    uint64_t     end_len, end_hash;
    int          ended;       /* CKPT_END seen */
    XXH3_state_t hash;
    rs_err       err;
};

static la_ssize_t read_cb(struct archive *a, void *arg, const void **buf)
{
    struct receiver *r = arg;
    if (r->ended)
        return 0;
    rs_wal_frame f;
    if (wal_conn_recv(r->conn, &f, r->timeout_ms, &r->err) != RS_OK) {
        archive_set_error(a, EIO, "receive failed");
        return -1;
    }
    if (f.type == RS_WAL_FRAME_CKPT_END && f.payload_len == 16) {
        r->ended = 1;
        r->end_len = rs_le64_get(f.payload);
        r->end_hash = rs_le64_get(f.payload + 8);
        return 0;
    }
    if (f.type != RS_WAL_FRAME_CKPT_DATA) {
        if (f.type == RS_WAL_FRAME_REFUSE)
            wal_refusal_to_err(&f, &r->err);
        else
            rs_err_set(&r->err, RS_E_PROTOCOL, "checkpoint stream: unexpected frame type %u", f.type);
        archive_set_error(a, EPROTO, "unexpected frame");
        return -1;
    }
    XXH3_64bits_update(&r->hash, f.payload, f.payload_len);
    r->got += f.payload_len;
    *buf = f.payload;
    return (la_ssize_t)f.payload_len;
}

/* Writes all of len at off: a short write (a disk filling up) is carried
 * on until the write that fails says why, so errno is never a stale one. */
static rs_code write_at(int fd, const uint8_t *p, size_t len, off_t off, const char *name, rs_err *err)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return rs_err_sys(err, RS_E_IO, n < 0 ? errno : ENOSPC, "write checkpoint file '%s'", name);
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return RS_OK;
}

static rs_code write_entry(struct archive *a, int dirfd_, const char *name, rs_err *err)
{
    int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "checkpoint file '%s'", name);
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;
    rs_code rc = RS_OK;
    while (rc == RS_OK && (r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
        rc = write_at(fd, buf, len, (off_t)off, name, err);
    if (rc == RS_OK && r != ARCHIVE_EOF)
        rc = rs_err_set(err, RS_E_CORRUPT, "checkpoint file '%s': %s", name, archive_error_string(a));
    if (rc == RS_OK && fsync(fd) != 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "fsync checkpoint file '%s'", name);
    close(fd);
    return rc;
}

static rs_code check_entry(struct archive_entry *e, uint64_t *budget, rs_err *err)
{
    const char *name = NULL;
    if (rs_tar_entry_check(e, "", "a checkpoint", &name, err) != RS_OK) {
        rs_err_prefix(err, "checkpoint stream");
        return RS_E_CORRUPT;
    }
    la_int64_t size = archive_entry_size(e);
    if (size < 0 || (uint64_t)size > *budget)
        return rs_err_set(err, RS_E_CORRUPT, "checkpoint stream: entry '%s' of %lld bytes exceeds what was announced",
                          name, (long long)size);
    *budget -= (uint64_t)size;
    return RS_OK;
}

static rs_code extract(struct archive *a, struct receiver *r, const char *dir, uint64_t budget, rs_err *err)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "open '%s'", dir);
    struct archive_entry *e;
    rs_code rc = RS_OK;
    int h;
    while (rc == RS_OK && (h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        rc = check_entry(e, &budget, err);
        if (rc == RS_OK)
            rc = write_entry(a, dfd, archive_entry_pathname(e), err);
    }
    if (rc == RS_OK && h != ARCHIVE_EOF) {
        if (r->err.code != RS_OK)
            *err = r->err;
        rc = rs_err_set(err, RS_E_CORRUPT, "checkpoint stream: %s", archive_error_string(a));
    }
    close(dfd);
    return rc;
}

/* libarchive stops at the tar's end marker; the frames up to CKPT_END
 * (padding, if any) still have to be read and counted. */
static rs_code drain_to_end(struct archive *a, struct receiver *r, rs_err *err)
{
    const void *buf;
    while (!r->ended)
        if (read_cb(a, r, &buf) < 0) {
            *err = r->err;
            return r->err.code != RS_OK ? r->err.code : RS_E_PROTOCOL;
        }
    if (r->got != r->end_len || XXH3_64bits_digest(&r->hash) != r->end_hash)
        return rs_err_set(err, RS_E_CORRUPT, "checkpoint stream: received %llu bytes, the primary sent %llu (or the hash differs)",
                          (unsigned long long)r->got, (unsigned long long)r->end_len);
    return RS_OK;
}

rs_code wal_ckpt_recv(wal_conn *c, const char *dir, uint32_t timeout_ms, uint64_t *seq_out, rs_err *err)
{
    rs_wal_frame f;
    rs_code rc = wal_conn_expect(c, RS_WAL_FRAME_CKPT_BEGIN, &f, timeout_ms, err);
    if (rc != RS_OK)
        return rc;
    if (f.payload_len != 16)
        return rs_err_set(err, RS_E_PROTOCOL, "CKPT_BEGIN of %u bytes is malformed", f.payload_len);
    uint64_t seq = rs_le64_get(f.payload), budget = rs_le64_get(f.payload + 8);
    if (mkdir(dir, 0700) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "make '%s'", dir);
    struct receiver r = {.conn = c, .timeout_ms = timeout_ms};
    r.err = (rs_err)RS_ERR_INIT;
    XXH3_64bits_reset(&r.hash);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    if (archive_read_open(a, &r, NULL, read_cb, NULL) != ARCHIVE_OK)
        rc = r.err.code != RS_OK ? (*err = r.err, r.err.code)
                                 : rs_err_set(err, RS_E_CORRUPT, "checkpoint stream: %s", archive_error_string(a));
    if (rc == RS_OK)
        rc = extract(a, &r, dir, budget, err);
    if (rc == RS_OK)
        rc = drain_to_end(a, &r, err);
    archive_read_free(a);
    if (rc == RS_OK)
        rc = rs_fs_fsync_dir(dir, err);
    if (rc == RS_OK)
        *seq_out = seq;
    return rc;
}
