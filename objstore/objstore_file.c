/*
 * The directory backend (file:///path): an object is a file under the
 * directory, its key the relative path. Every write goes to a temporary
 * file in <dir>/.rockstream-tmp/, is fsynced, then renamed into place (or,
 * for put-if-absent, linked without replacing) and the directory fsynced:
 * nothing is visible under its final name before it is complete and
 * durable. A multipart upload is a temporary file the parts are written
 * into at their offsets, beside a small file naming its key.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/fs.h"
#include "common/hex.h"
#include "common/log.h"
#include "objstore/objstore_int.h"

#define TMP_DIR ".rockstream-tmp"
#define COPY_BYTES (1u << 20)
/* A put's temporary lives for milliseconds; one this old was left by a
 * process that died, and is swept when a store opens. */
#define STALE_PUT_SECONDS 3600

struct file_be {
    char *root;
    char *tmp;
};

static rs_code path_of(const struct file_be *f, const char *key, char **out, rs_err *err)
{
    if (strncmp(key, TMP_DIR, sizeof TMP_DIR - 1) == 0 &&
        (key[sizeof TMP_DIR - 1] == '/' || key[sizeof TMP_DIR - 1] == '\0'))
        return rs_err_set(err, RS_E_INVALID, "key '%s': '%s' is reserved for temporary files", key, TMP_DIR);
    if (asprintf(out, "%s/%s", f->root, key) < 0)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    return RS_OK;
}

static rs_code sys_err(rs_err *err, int e, const char *what, const char *key)
{
    rs_code code = e == ENOENT ? RS_E_NOTFOUND : e == EEXIST ? RS_E_EXISTS : RS_E_IO;
    return rs_err_sys(err, code, e, "%s '%s'", what, key);
}

static void etag_of(const struct stat *st, char etag[RS_OBJSTORE_ETAG_MAX])
{
    uint64_t mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
    snprintf(etag, RS_OBJSTORE_ETAG_MAX, "%" PRIx64 "-%" PRIx64 "-%" PRIx64, (uint64_t)st->st_ino,
             (uint64_t)st->st_size, mtime_ns);
}

static void info_of(const struct stat *st, rs_objstore_info *info)
{
    info->size_bytes = (uint64_t)st->st_size;
    info->mtime_unix_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    etag_of(st, info->etag);
}

static rs_code write_all(int fd, const uint8_t *p, size_t len, uint64_t off, const char *key, rs_err *err)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rs_err_sys(err, RS_E_IO, errno, "writing '%s'", key);
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* Putting files in place                                              */
/* ------------------------------------------------------------------ */

/* Creates the directories above path under the root, fsyncing the parent
 * of each one it creates so the new entries survive a power loss. */
static rs_code make_parents(const struct file_be *f, const char *path, const char *key, rs_err *err)
{
    size_t root_len = strlen(f->root);
    char *dir = strdup(path);
    if (dir == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    rs_code rc = RS_OK;
    for (char *slash = strchr(dir + root_len + 1, '/'); rc == RS_OK && slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(dir, 0755) == 0) {
            char *parent_end = strrchr(dir, '/');
            *parent_end = '\0';
            rc = rs_fs_fsync_dir(dir, err);
            *parent_end = '/';
        } else if (errno != EEXIST) {
            rc = rs_err_sys(err, errno == ENOTDIR ? RS_E_INVALID : RS_E_IO, errno,
                            "key '%s': cannot make directory '%s' (an object of that name holds the place?)", key,
                            dir);
        }
        *slash = '/';
    }
    free(dir);
    return rc;
}

/* Moves a complete, fsynced temporary to its key: replacing, or (if_absent)
 * never replacing, then fsyncs the directory holding it. */
static rs_code publish(const struct file_be *f, const char *tmp, const char *key, int if_absent,
                       rs_objstore_info *info, rs_err *err)
{
    char *path = NULL;
    rs_code rc = path_of(f, key, &path, err);
    if (rc == RS_OK)
        rc = make_parents(f, path, key, err);
    if (rc == RS_OK && if_absent) {
        int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
        /* file systems without RENAME_NOREPLACE: link(2) never replaces either */
        if (r != 0 && (errno == EINVAL || errno == ENOSYS) && (r = link(tmp, path)) == 0)
            unlink(tmp);
        if (r != 0)
            rc = errno == EEXIST ? rs_err_set(err, RS_E_EXISTS, "object '%s' already exists: refusing to replace it",
                                              key)
                                 : rs_err_sys(err, RS_E_IO, errno, "naming '%s'", key);
    } else if (rc == RS_OK && rename(tmp, path) != 0) {
        rc = rs_err_sys(err, errno == EISDIR ? RS_E_INVALID : RS_E_IO, errno, "naming '%s'", key);
    }
    struct stat st;
    if (rc == RS_OK && stat(path, &st) != 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "checking '%s'", key);
    if (rc == RS_OK) {
        info_of(&st, info);
        *strrchr(path, '/') = '\0';
        rc = rs_fs_fsync_dir(path, err);
    }
    free(path);
    return rc;
}

static rs_code file_put(void *be, const char *key, const uint8_t *p, size_t len, int if_absent,
                        rs_objstore_info *info, rs_err *err)
{
    struct file_be *f = be;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s/put-XXXXXX", f->tmp) < 0)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rs_code rc = rs_err_sys(err, RS_E_IO, errno, "creating a temporary for '%s' in '%s'", key, f->tmp);
        free(tmp);
        return rc;
    }
    rs_code rc = write_all(fd, p, len, 0, key, err);
    if (rc == RS_OK && fsync(fd) != 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "writing '%s'", key);
    close(fd);
    if (rc == RS_OK)
        rc = publish(f, tmp, key, if_absent, info, err);
    if (rc != RS_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Multipart uploads                                                   */
/* ------------------------------------------------------------------ */

#define UPLOAD_ID_HEX 32

/* An upload's two files: its data, and the name of its key. */
struct upload_files {
    char data[PATH_MAX], key[PATH_MAX];
};

/* Upload ids come back from callers: only our own shape names a file. */
static rs_code upload_files(const struct file_be *f, const char *id, struct upload_files *u, rs_err *err)
{
    size_t n = strspn(id, "0123456789abcdef");
    if (n != UPLOAD_ID_HEX || id[n] != '\0')
        return rs_err_set(err, RS_E_INVALID, "'%s' is not an upload id of this store", id);
    snprintf(u->data, sizeof u->data, "%s/mpu-%s", f->tmp, id);
    snprintf(u->key, sizeof u->key, "%s/mpu-%s.key", f->tmp, id);
    return RS_OK;
}

/* Opens an upload's data file: a missing one is an upload aborted. */
static rs_code open_upload(const struct file_be *f, const char *id, int flags, const char *key,
                           struct upload_files *u, int *fd, rs_err *err)
{
    rs_code rc = upload_files(f, id, u, err);
    if (rc == RS_OK && (*fd = open(u->data, flags | O_CLOEXEC)) < 0)
        rc = errno == ENOENT ? rs_err_set(err, RS_E_NOTFOUND, "upload of '%s': NoSuchUpload (aborted?)", key)
                             : rs_err_sys(err, RS_E_IO, errno, "upload of '%s'", key);
    return rc;
}

static rs_code file_mpu_begin(void *be, const char *key, char **upload_id, rs_err *err)
{
    struct file_be *f = be;
    uint8_t raw[UPLOAD_ID_HEX / 2];
    char id[UPLOAD_ID_HEX + 1];
    if (getentropy(raw, sizeof raw) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "random upload id");
    rs_hex_encode(raw, sizeof raw, id, sizeof id);
    struct upload_files u;
    rs_code rc = upload_files(f, id, &u, err);
    int fd = rc == RS_OK ? open(u.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
    if (rc == RS_OK && fd < 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "starting an upload of '%s' in '%s'", key, f->tmp);
    if (fd >= 0)
        close(fd);
    /* the key file appears whole, so a listing never reads half a key */
    if (rc == RS_OK && (rc = rs_atomic_file_put(u.key, key, strlen(key), 0600, 0, err)) != RS_OK)
        unlink(u.data);
    if (rc == RS_OK && (*upload_id = strdup(id)) == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
    return rc;
}

static rs_code file_mpu_part(void *be, const char *key, const char *upload_id, unsigned number, uint64_t offset,
                             const uint8_t *p, size_t len, char etag[RS_OBJSTORE_ETAG_MAX], rs_err *err)
{
    struct upload_files u;
    int fd = -1;
    rs_code rc = open_upload(be, upload_id, O_WRONLY, key, &u, &fd, err);
    if (rc == RS_OK)
        rc = write_all(fd, p, len, offset, key, err);
    if (fd >= 0)
        close(fd);
    if (rc == RS_OK)
        snprintf(etag, RS_OBJSTORE_ETAG_MAX, "part-%u-%zu", number, len);
    return rc;
}

static rs_code file_mpu_complete(void *be, const char *key, const char *upload_id, const struct objstore_part *parts,
                                 unsigned n_parts, rs_objstore_info *info, rs_err *err)
{
    (void)parts; /* the parts are at their offsets in the data file already */
    (void)n_parts;
    struct upload_files u;
    int fd = -1;
    rs_code rc = open_upload(be, upload_id, O_RDONLY, key, &u, &fd, err);
    if (rc == RS_OK && fsync(fd) != 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "writing '%s'", key);
    if (fd >= 0)
        close(fd);
    if (rc == RS_OK)
        rc = publish(be, u.data, key, 0, info, err);
    if (rc == RS_OK)
        unlink(u.key);
    return rc;
}

static rs_code file_mpu_abort(void *be, const char *key, const char *upload_id, rs_err *err)
{
    struct upload_files u;
    rs_code rc = upload_files(be, upload_id, &u, err);
    if (rc == RS_OK && unlink(u.data) != 0 && errno != ENOENT)
        rc = rs_err_sys(err, RS_E_IO, errno, "aborting the upload of '%s'", key);
    if (rc == RS_OK && unlink(u.key) != 0 && errno != ENOENT)
        rc = rs_err_sys(err, RS_E_IO, errno, "aborting the upload of '%s'", key);
    return rc;
}

/* Reads an upload's key file (at most RS_OBJSTORE_KEY_MAX bytes). */
static int read_upload_key(int dirfd, const char *name, char *key, struct stat *st)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = fstat(fd, st) == 0 ? read(fd, key, RS_OBJSTORE_KEY_MAX + 1) : -1;
    close(fd);
    if (n <= 0 || n > RS_OBJSTORE_KEY_MAX)
        return -1;
    key[n] = '\0';
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct objstore_entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0 || x->upload_id == NULL)
        return c;
    return strcmp(x->upload_id, y->upload_id);
}

static rs_code file_mpu_list(void *be, const char *prefix, struct objstore_page *page, rs_err *err)
{
    struct file_be *f = be;
    DIR *d = opendir(f->tmp);
    if (d == NULL)
        return rs_err_sys(err, RS_E_IO, errno, "listing uploads in '%s'", f->tmp);
    rs_code rc = RS_OK;
    size_t plen = strlen(prefix);
    struct dirent *de;
    while (rc == RS_OK && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, "mpu-", 4) != 0 || n != 4 + UPLOAD_ID_HEX + 4 ||
            strcmp(de->d_name + n - 4, ".key") != 0)
            continue;
        char key[RS_OBJSTORE_KEY_MAX + 1], id[UPLOAD_ID_HEX + 1];
        struct stat st;
        if (read_upload_key(dirfd(d), de->d_name, key, &st) != 0 || strncmp(key, prefix, plen) != 0)
            continue;
        memcpy(id, de->d_name + 4, UPLOAD_ID_HEX);
        id[UPLOAD_ID_HEX] = '\0';
        rs_objstore_info info = {.mtime_unix_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000};
        rc = objstore_page_add(page, key, strlen(key), id, &info, err);
    }
    closedir(d);
    if (rc == RS_OK && page->n > 1)
        qsort(page->items, page->n, sizeof *page->items, entry_cmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/* Opens an object for reading and describes it. */
static rs_code open_object(const struct file_be *f, const char *key, int *fd, rs_objstore_info *info, rs_err *err)
{
    char *path = NULL;
    rs_code rc = path_of(f, key, &path, err);
    if (rc != RS_OK)
        return rc;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (*fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? rs_err_set(err, RS_E_NOTFOUND, "no object '%s'", key)
                                                   : sys_err(err, errno, "opening", key);
    struct stat st;
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return rs_err_set(err, RS_E_NOTFOUND, "no object '%s'", key);
    }
    info_of(&st, info);
    return RS_OK;
}

static rs_code copy_out(int fd, uint64_t off, uint64_t len, const char *key, const rs_objstore_sink *to,
                        rs_err *err)
{
    uint8_t *buf = malloc(COPY_BYTES);
    if (buf == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    rs_code rc = RS_OK;
    while (rc == RS_OK && len > 0) {
        ssize_t n = pread(fd, buf, len < COPY_BYTES ? (size_t)len : COPY_BYTES, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = rs_err_sys(err, RS_E_IO, errno, "reading '%s'", key);
        else if (n == 0)
            break;
        else
            rc = to->write(to->arg, buf, (size_t)n, err);
        off += n > 0 ? (uint64_t)n : 0;
        len -= n > 0 ? (uint64_t)n : 0;
    }
    free(buf);
    return rc;
}

static rs_code file_get(void *be, const char *key, uint64_t off, uint64_t len, const char *if_match,
                        const rs_objstore_sink *to, rs_objstore_info *info, rs_err *err)
{
    int fd = -1;
    rs_code rc = open_object(be, key, &fd, info, err);
    if (rc != RS_OK)
        return rc;
    uint64_t size = info->size_bytes;
    if (if_match != NULL && strcmp(if_match, info->etag) != 0)
        rc = rs_err_set(err, RS_E_CORRUPT, "object '%s' changed while it was read (version %s, now %s)", key,
                        if_match, info->etag);
    else if (off > size || (off == size && size > 0))
        rc = rs_err_set(err, RS_E_INVALID, "range at %llu is past the end of '%s' (%llu bytes)",
                        (unsigned long long)off, key, (unsigned long long)size);
    else
        rc = copy_out(fd, off, len < size - off ? len : size - off, key, to, err);
    close(fd);
    return rc;
}

static rs_code file_head(void *be, const char *key, rs_objstore_info *info, rs_err *err)
{
    int fd = -1;
    rs_code rc = open_object(be, key, &fd, info, err);
    if (rc == RS_OK)
        close(fd);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Listing and removing                                                */
/* ------------------------------------------------------------------ */

/* Adds the files under dir (rel: its path under the root, "" for the root)
 * whose keys start with prefix. */
static rs_code walk(const struct file_be *f, const char *rel, const char *prefix, struct objstore_page *page,
                    rs_err *err)
{
    char *dir = NULL;
    if (asprintf(&dir, "%s%s%s", f->root, rel[0] ? "/" : "", rel) < 0)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    free(dir);
    if (d == NULL)
        return errno == ENOENT || errno == ENOTDIR ? RS_OK : rs_err_sys(err, RS_E_IO, errno, "listing '%s'", rel);
    rs_code rc = RS_OK;
    size_t plen = strlen(prefix);
    struct dirent *de;
    while (rc == RS_OK && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || (rel[0] == '\0' && strcmp(name, TMP_DIR) == 0))
            continue;
        char *key = NULL;
        if (asprintf(&key, "%s%s%s", rel, rel[0] ? "/" : "", name) < 0) {
            rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
            break;
        }
        struct stat st;
        size_t klen = strlen(key);
        size_t cmp = klen < plen ? klen : plen;
        if (strncmp(key, prefix, cmp) != 0 || fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            free(key);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk(f, key, prefix, page, err);
        } else if (S_ISREG(st.st_mode) && klen >= plen) {
            rs_objstore_info info;
            info_of(&st, &info);
            rc = objstore_page_add(page, key, klen, NULL, &info, err);
        }
        free(key);
    }
    closedir(d);
    return rc;
}

static rs_code file_list(void *be, const char *prefix, struct objstore_page *page, rs_err *err)
{
    rs_code rc = walk(be, "", prefix, page, err);
    if (rc == RS_OK && page->n > 1)
        qsort(page->items, page->n, sizeof *page->items, entry_cmp);
    return rc;
}

static rs_code file_remove(void *be, const char *key, rs_err *err)
{
    char *path = NULL;
    rs_code rc = path_of(be, key, &path, err);
    if (rc != RS_OK)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
        rc = rs_err_sys(err, RS_E_IO, errno, "removing '%s'", key);
    free(path);
    return rc;
}

static rs_code file_remove_many(void *be, const char *const *keys, size_t n, rs_err *err)
{
    for (size_t i = 0; i < n; i++) {
        rs_code rc = file_remove(be, keys[i], err);
        if (rc != RS_OK)
            return rc;
    }
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

/* Removes put temporaries a dead process left (uploads stay: they are
 * listed and aborted like S3's). */
static void sweep_stale(const struct file_be *f)
{
    DIR *d = opendir(f->tmp);
    if (d == NULL)
        return;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(de->d_name, "put-", 4) == 0 && fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
            st.st_mtime + STALE_PUT_SECONDS < now && unlinkat(dirfd(d), de->d_name, 0) == 0)
            RS_LOG_INFO("objstore: removed a stale temporary file=%s/%s", f->tmp, de->d_name);
    }
    closedir(d);
}

static void file_destroy(void *be)
{
    struct file_be *f = be;
    if (f == NULL)
        return;
    free(f->root);
    free(f->tmp);
    free(f);
}

rs_code objstore_file_open(const char *dir, void **be, char **describe, rs_err *err)
{
    if (dir[0] == '\0')
        return rs_err_set(err, RS_E_INVALID, "empty directory name");
    struct file_be *f = calloc(1, sizeof *f);
    if (f == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len > PATH_MAX - 128) {
        free(f);
        return rs_err_set(err, RS_E_INVALID, "directory '%.64s...' is too long", dir);
    }
    f->root = strndup(dir, len);
    rs_code rc = f->root == NULL || asprintf(&f->tmp, "%s/%s", f->root, TMP_DIR) < 0
                     ? rs_err_set(err, RS_E_NOMEM, "out of memory")
                     : rs_fs_mkdir_p(f->tmp, 0755, err);
    if (rc == RS_OK && access(f->root, W_OK) != 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "directory '%s' is not writable", f->root);
    char *abs = rc == RS_OK ? realpath(f->root, NULL) : NULL;
    if (rc == RS_OK && asprintf(describe, "file://%s", abs != NULL ? abs : f->root) < 0)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
    free(abs);
    if (rc != RS_OK) {
        file_destroy(f);
        return rc;
    }
    sweep_stale(f);
    *be = f;
    return RS_OK;
}

const struct rs_objstore_ops objstore_file_ops = {
    .name = "file",
    .features = OBJSTORE_F_PARTS_ANY,
    .put = file_put,
    .mpu_begin = file_mpu_begin,
    .mpu_part = file_mpu_part,
    .mpu_complete = file_mpu_complete,
    .mpu_abort = file_mpu_abort,
    .mpu_list = file_mpu_list,
    .get = file_get,
    .head = file_head,
    .list = file_list,
    .remove = file_remove,
    .remove_many = file_remove_many,
    .destroy = file_destroy,
};
