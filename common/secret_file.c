/* Secret files (see secret_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_file.h"

rs_code rs_secret_file_check_private(const char *path, const char *what, unsigned mode, rs_err *err)
{
    if ((mode & 077) == 0)
        return RS_OK;
    rs_err_set(err, RS_E_AUTH, "%s '%s' holds a secret and is accessible by group or others (mode %04o): "
               "refusing to use it", what, path, mode);
    rs_err_hint(err, "make it private with: chmod 600 <file>");
    return RS_E_AUTH;
}

static rs_code read_all(const char *path, const char *what, int fd, size_t size, rs_secret_file *out, rs_err *err)
{
    out->text = sodium_malloc(size + 1);
    if (out->text == NULL)
        return rs_err_set(err, RS_E_NOMEM, "%s '%s': out of locked memory", what, path);
    while (out->len < size) {
        ssize_t n = read(fd, out->text + out->len, size - out->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rs_err_sys(err, RS_E_IO, errno, "reading %s '%s'", what, path);
        if (n == 0)
            break;
        out->len += (size_t)n;
    }
    out->text[out->len] = '\0';
    return RS_OK;
}

rs_code rs_secret_file_read(const char *path, const char *what, size_t max_bytes, unsigned flags,
                            rs_secret_file *out, rs_err *err)
{
    memset(out, 0, sizeof *out);
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            return rs_err_set(err, RS_E_INVALID, "%s '%s' is a symbolic link: name the file itself", what, path);
        return rs_err_sys(err, e == ENOENT ? RS_E_NOTFOUND : RS_E_IO, e, "%s '%s'", what, path);
    }
    struct stat st;
    rs_code rc = RS_OK;
    if (fstat(fd, &st) != 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "%s '%s'", what, path);
    else if (!S_ISREG(st.st_mode))
        rc = rs_err_set(err, RS_E_INVALID, "%s '%s' is not a regular file", what, path);
    else if ((uint64_t)st.st_size > max_bytes)
        rc = rs_err_set(err, RS_E_INVALID, "%s '%s' is %lld bytes, more than %zu", what, path,
                        (long long)st.st_size, max_bytes);
    else if (!(flags & RS_SECRET_FILE_MAY_BE_SHARED))
        rc = rs_secret_file_check_private(path, what, (unsigned)(st.st_mode & 07777), err);
    if (rc == RS_OK) {
        out->mode = (unsigned)(st.st_mode & 07777);
        rc = read_all(path, what, fd, (size_t)st.st_size, out, err);
    }
    close(fd);
    if (rc != RS_OK)
        rs_secret_file_release(out);
    return rc;
}

void rs_secret_file_release(rs_secret_file *f)
{
    if (f == NULL)
        return;
    sodium_free(f->text);
    memset(f, 0, sizeof *f);
}
