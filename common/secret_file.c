/* Reading files that hold a secret; see secret_file.h. The checks are made
 * on the open descriptor (fstat), so the file checked is the file read. */
#include "common/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/assert.h"

static rs_code open_file(const char *path, const char *what, int *fd, rs_err *err)
{
    /* O_NOFOLLOW: a link planted where the secret is expected is refused,
     * not followed; O_NONBLOCK: a FIFO cannot hang the open (it is then
     * refused as not a regular file) */
    *fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (*fd >= 0)
        return RS_OK;
    int e = errno;
    if (e == ELOOP) {
        rs_err_set(err, RS_E_INVALID, "%s '%s' is a symbolic link: refusing to follow it", what, path);
        rs_err_hint(err, "give the path of the file itself");
        return RS_E_INVALID;
    }
    return rs_err_sys(err, e == ENOENT ? RS_E_NOTFOUND : RS_E_IO, e, "%s '%s'", what, path);
}

static rs_code check_file(const char *path, const char *what, int fd, size_t max_bytes, unsigned flags,
                          unsigned *mode, rs_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "%s '%s'", what, path);
    if (!S_ISREG(st.st_mode))
        return rs_err_set(err, RS_E_INVALID, "%s '%s' is not a regular file", what, path);
    *mode = (unsigned)(st.st_mode & 07777);
    if (!(flags & RS_SECRET_FILE_MAY_BE_SHARED)) {
        rs_code rc = rs_secret_file_check_private(path, what, *mode, err);
        if (rc != RS_OK)
            return rc;
    }
    if ((uint64_t)st.st_size > max_bytes)
        return rs_err_set(err, RS_E_INVALID, "%s '%s' is %lld bytes, more than the %zu a %s may hold", what, path,
                          (long long)st.st_size, max_bytes, what);
    return RS_OK;
}

/* Reads to the end, up to max_bytes + 1 bytes: one more than allowed means
 * the file grew after fstat. */
static rs_code read_all(const char *path, const char *what, int fd, size_t max_bytes, rs_secret_file *f,
                        rs_err *err)
{
    while (f->len <= max_bytes) {
        ssize_t n = read(fd, f->text + f->len, max_bytes + 1 - f->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rs_err_sys(err, RS_E_IO, errno, "reading %s '%s'", what, path);
        if (n == 0)
            break;
        f->len += (size_t)n;
    }
    if (f->len > max_bytes)
        return rs_err_set(err, RS_E_INVALID, "%s '%s' grew past %zu bytes while it was read", what, path,
                          max_bytes);
    f->text[f->len] = '\0';
    return RS_OK;
}

rs_code rs_secret_file_read(const char *path, const char *what, size_t max_bytes, unsigned flags,
                            rs_secret_file *out, rs_err *err)
{
    memset(out, 0, sizeof *out);
    rs_assert(max_bytes <= SIZE_MAX - 2);
    if (path == NULL || path[0] == '\0')
        return rs_err_set(err, RS_E_INVALID, "no %s given", what);
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    int fd = -1;
    rs_code rc = open_file(path, what, &fd, err);
    if (rc != RS_OK)
        return rc;
    rc = check_file(path, what, fd, max_bytes, flags, &out->mode, err);
    if (rc == RS_OK && (out->text = sodium_malloc(max_bytes + 2)) == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "%s '%s': out of locked memory", what, path);
    if (rc == RS_OK)
        rc = read_all(path, what, fd, max_bytes, out, err);
    close(fd);
    if (rc != RS_OK)
        rs_secret_file_release(out);
    return rc;
}

rs_code rs_secret_file_check_private(const char *path, const char *what, unsigned mode, rs_err *err)
{
    if ((mode & 077) == 0)
        return RS_OK;
    rs_err_set(err, RS_E_AUTH, "%s '%s' holds a secret and is accessible by group or others (mode %04o): "
               "refusing to use it", what, path, mode & 07777);
    rs_err_hint(err, "make it private with: chmod 600 <file>");
    return RS_E_AUTH;
}

void rs_secret_file_release(rs_secret_file *f)
{
    if (f == NULL)
        return;
    if (f->text != NULL)
        sodium_free(f->text); /* wipes first */
    memset(f, 0, sizeof *f);
}
