/*
 * The primary's half of a resync: a checkpoint of the database (hard
 * links, cheap) streamed as a tar (libarchive) in CKPT_DATA frames over
 * the replication connection, at most bytes_per_sec, then removed.
 * CKPT_END carries the tar's length and XXH3 so the follower can tell a
 * stream that lost or reordered a piece from a whole one.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
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

#include "common/clock.h"
#include "common/endian.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/stale.h"
#include "wal/wal_int.h"

#define CHUNK (1u << 20) /* tar bytes per CKPT_DATA frame */
#define CKPT_MARK "ckpt-"

struct sender {
    wal_conn        *conn;
    uint64_t         rate;       /* bytes per second */
    uint64_t         start_ns;
    uint64_t         sent;       /* tar bytes so far */
    XXH3_state_t     hash;
    const atomic_int *stop;
    rs_err           err;
};

/* Sleeps until sending n more bytes keeps the average under the rate. */
static int pace(struct sender *s, size_t n)
{
    for (;;) {
        if (atomic_load(s->stop))
            return -1;
        uint64_t allowed_ns = (s->sent + n) * 1000000000ull / s->rate;
        uint64_t elapsed = rs_clock_mono_ns() - s->start_ns;
        if (elapsed >= allowed_ns)
            return 0;
        uint64_t wait_us = (allowed_ns - elapsed) / 1000u;
        rs_clock_sleep_us(wait_us > 100000 ? 100000 : wait_us);
    }
}

static la_ssize_t write_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
    struct sender *s = arg;
    if (pace(s, len) != 0) {
        rs_err_set(&s->err, RS_E_INTERNAL, "checkpoint transfer stopped");
        archive_set_error(a, ECANCELED, "stopped");
        return -1;
    }
    if (wal_conn_send_msg(s->conn, RS_WAL_FRAME_CKPT_DATA, buf, len, &s->err) != RS_OK) {
        archive_set_error(a, EIO, "send failed");
        return -1;
    }
    XXH3_64bits_update(&s->hash, buf, len);
    s->sent += len;
    return (la_ssize_t)len;
}

static rs_code add_file(struct archive *a, struct sender *s, const char *dir, const char *name, rs_err *err)
{
    char path[8192];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return rs_err_set(err, RS_E_INVALID, "checkpoint file '%s': path too long", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return rs_err_sys(err, RS_E_IO, e, "checkpoint file '%s'", path);
    }
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    int ok = archive_write_header(a, e) == ARCHIVE_OK;
    archive_entry_free(e);
    uint8_t *buf = malloc(CHUNK);
    ssize_t n = 0;
    while (ok && buf != NULL && (n = read(fd, buf, CHUNK)) > 0)
        ok = archive_write_data(a, buf, (size_t)n) == n;
    free(buf);
    close(fd);
    if (!ok || n < 0 || buf == NULL) {
        if (s->err.code != RS_OK)
            *err = s->err;
        return rs_err_set(err, RS_E_IO, "send checkpoint file '%s': %s", name, archive_error_string(a));
    }
    return RS_OK;
}

/* The checkpoint's files: RocksDB makes a flat directory of them. */
static rs_code add_files(struct archive *a, struct sender *s, const char *dir, rs_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return rs_err_sys(err, RS_E_IO, errno, "list checkpoint '%s'", dir);
    struct dirent *ent;
    rs_code rc = RS_OK;
    while (rc == RS_OK && (ent = readdir(d)) != NULL) {
        struct stat st;
        if (fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = add_file(a, s, dir, ent->d_name, err);
    }
    closedir(d);
    return rc;
}

static rs_code stream_tar(wal_conn *c, const char *dir, uint64_t rate, const atomic_int *stop, rs_err *err)
{
    struct sender s = {.conn = c, .rate = rate, .start_ns = rs_clock_mono_ns(), .stop = stop};
    s.err = (rs_err)RS_ERR_INIT;
    XXH3_64bits_reset(&s.hash);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, CHUNK);
    archive_write_set_bytes_in_last_block(a, 1);
    rs_code rc = RS_OK;
    if (archive_write_open(a, &s, NULL, write_cb, NULL) != ARCHIVE_OK)
        rc = rs_err_set(err, RS_E_IO, "start checkpoint stream: %s", archive_error_string(a));
    if (rc == RS_OK)
        rc = add_files(a, &s, dir, err);
    if (archive_write_close(a) != ARCHIVE_OK && rc == RS_OK)
        rc = s.err.code != RS_OK ? (*err = s.err, s.err.code)
                                 : rs_err_set(err, RS_E_IO, "end checkpoint stream: %s", archive_error_string(a));
    archive_write_free(a);
    if (rc != RS_OK)
        return rc;
    uint8_t end[16];
    rs_le64_put(end, s.sent);
    rs_le64_put(end + 8, XXH3_64bits_digest(&s.hash));
    return wal_conn_send_msg(c, RS_WAL_FRAME_CKPT_END, end, sizeof end, err);
}

rs_code wal_ckpt_send(wal_conn *c, rs_store *store, const char *work_dir, uint64_t bytes_per_sec,
                      uint64_t *seq_out, const atomic_int *stop, rs_err *err)
{
    static atomic_uint n_taken;
    char dir[4096];
    rs_code rc = rs_fs_mkdir_p(work_dir, 0700, err);
    if (rc != RS_OK)
        return rc;
    /* named with our pid: if this process dies mid-send, the next primary
     * sweeps it (wal_ckpt_sweep) */
    snprintf(dir, sizeof dir, "%s/" CKPT_MARK "%ld-%u", work_dir, (long)getpid(), atomic_fetch_add(&n_taken, 1));
    rs_fs_remove_tree(dir, NULL);
    uint64_t seq = 0, bytes = 0;
    rc = rs_store_checkpoint(store, dir, &seq, err);
    if (rc == RS_OK)
        rc = rs_fs_tree_bytes(dir, &bytes, err);
    if (rc == RS_OK) {
        uint8_t begin[16];
        rs_le64_put(begin, seq);
        rs_le64_put(begin + 8, bytes);
        RS_LOG_INFO("sending checkpoint follower=%s seq=%llu bytes=%llu", c->peer, (unsigned long long)seq,
                    (unsigned long long)bytes);
        rc = wal_conn_send_msg(c, RS_WAL_FRAME_CKPT_BEGIN, begin, sizeof begin, err);
    }
    if (rc == RS_OK)
        rc = stream_tar(c, dir, bytes_per_sec, stop, err);
    rs_fs_remove_tree(dir, NULL);
    if (rc == RS_OK)
        *seq_out = seq;
    return rc;
}

size_t wal_ckpt_sweep(const char *work_dir) { return rs_stale_sweep(work_dir, CKPT_MARK, 1, "replication checkpoint"); }
