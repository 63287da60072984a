/*
 * Where SNAPSHOT may write. A client names the archive; the server writes
 * it only inside the directory configured for it, never where the client
 * alone decides: Redis's classic attack (CONFIG SET dir, then SAVE, writes
 * a file anywhere with the server's privileges) must have no rockstream
 * form. A name may not hold "..", and a symbolic link inside the directory
 * may not lead out of it: openat2's RESOLVE_BENEATH checks the parent
 * directory as the kernel resolves it. The archive's own name cannot be a
 * link either, as the snapshot never replaces an existing name.
 *
 * --snapshot-dir DIR: SNAPSHOT takes a name relative to DIR, or an
 * absolute path that starts with DIR. Without it the directory is the
 * database's parent and the path must be absolute, as before the option
 * existed: scripts that named /var/lib/rockstream/x.rsa beside a database
 * in /var/lib/rockstream/db keep working, and a relative name, which would
 * land in a directory the client cannot see, is refused.
 *
 * What is left: someone who can already write inside the directory could
 * swap a subdirectory for a link between the check and the seal's open.
 * The directory must not be writable by whom the server does not trust.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/cmd.h"

/* path made absolute against the working directory, without a trailing '/'. */
static rs_code absolute(const char *what, const char *path, char *out, size_t cap, rs_err *err)
{
    char cwd[PATH_MAX] = "";
    if (path[0] != '/' && getcwd(cwd, sizeof cwd) == NULL)
        return rs_err_sys(err, RS_E_IO, errno, "%s '%s': the working directory", what, path);
    size_t n = (size_t)snprintf(out, cap, "%s%s%s", cwd, cwd[0] != '\0' ? "/" : "", path);
    if (n >= cap)
        return rs_err_set(err, RS_E_INVALID, "%s '%s': path too long", what, path);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    return RS_OK;
}

static rs_code explicit_dir(struct server_setup *s, const char *dir, rs_err *err)
{
    rs_code rc = absolute("--snapshot-dir", dir, s->snapshot_dir, sizeof s->snapshot_dir, err);
    if (rc != RS_OK)
        return rc;
    struct stat st;
    if (stat(s->snapshot_dir, &st) != 0)
        return rs_err_sys(err, errno == ENOENT ? RS_E_NOTFOUND : RS_E_IO, errno, "--snapshot-dir '%s'", dir);
    if (!S_ISDIR(st.st_mode))
        return rs_err_set(err, RS_E_INVALID, "--snapshot-dir '%s' is not a directory", dir);
    if (strcmp(s->snapshot_dir, "/") == 0)
        return rs_err_set(err, RS_E_INVALID, "--snapshot-dir '/': give archives a directory of their own");
    return RS_OK;
}

rs_code server_snapshot_dir_init(struct server_setup *s, rs_err *err)
{
    const rs_server_config *cfg = &s->cfg;
    if (cfg->snapshot_dir != NULL)
        return explicit_dir(s, cfg->snapshot_dir, err);
    s->snapshot_dir_implicit = 1;
    if (cfg->db_path == NULL)
        return RS_OK; /* no database named: SNAPSHOT is refused */
    rs_code rc = absolute("--db", cfg->db_path, s->snapshot_dir, sizeof s->snapshot_dir, err);
    if (rc != RS_OK)
        return rc;
    /* the root has no parent to give: a database there needs the option */
    *strrchr(s->snapshot_dir, '/') = '\0';
    return RS_OK;
}

/* ---- a SNAPSHOT's path --------------------------------------------------- */

/* The name relative to the directory, or an error the client reads. */
static rs_code relative(const struct server_setup *s, const char *path, const char **rel, rs_err *err)
{
    const char *dir = s->snapshot_dir;
    size_t dlen = strlen(dir);
    if (path[0] == '/') {
        if (strncmp(path, dir, dlen) != 0 || path[dlen] != '/')
            return rs_err_set(err, RS_E_INVALID, "snapshot path '%.200s' is outside the snapshot directory '%s'",
                              path, dir);
        *rel = path + dlen + 1;
        return RS_OK;
    }
    if (s->snapshot_dir_implicit)
        return rs_err_set(err, RS_E_INVALID, "snapshot path '%.200s' is not absolute: give the archive's full "
                          "path in the snapshot directory '%s' (or start serve with --snapshot-dir DIR and name "
                          "archives relative to it)", path, dir);
    *rel = path;
    return RS_OK;
}

/* No ".." anywhere, and a last component that names a file. */
static rs_code check_components(const char *path, const char *rel, rs_err *err)
{
    for (const char *p = rel; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return rs_err_set(err, RS_E_INVALID, "snapshot path '%.200s' holds '..': name a file inside the "
                              "snapshot directory", path);
        p += n;
        p += *p == '/';
    }
    const char *last = strrchr(rel, '/');
    last = last != NULL ? last + 1 : rel;
    if (last[0] == '\0' || strcmp(last, ".") == 0)
        return rs_err_set(err, RS_E_INVALID, "snapshot path '%.200s' names a directory, not an archive file", path);
    return RS_OK;
}

/* The parent of rel resolved beneath the directory: a link that leaves it
 * is refused. A missing parent is left for the seal to report. */
static rs_code check_parent(const struct server_setup *s, const char *path, const char *rel, rs_err *err)
{
    const char *slash = strrchr(rel, '/');
    if (slash == NULL)
        return RS_OK;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - rel), rel);
    int dirfd = open(s->snapshot_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "snapshot directory '%s'", s->snapshot_dir);
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, dirfd, parent, &how, sizeof how);
    int e = errno;
    close(dirfd);
    if (fd >= 0) {
        close((int)fd);
        return RS_OK;
    }
    if (e == ENOENT || e == ENOTDIR)
        return RS_OK;
    if (e == EXDEV || e == ELOOP)
        return rs_err_set(err, RS_E_INVALID, "snapshot path '%.200s' leaves the snapshot directory '%s' through "
                          "a symbolic link", path, s->snapshot_dir);
    return rs_err_sys(err, RS_E_IO, e, "snapshot path '%.200s'", path);
}

rs_code server_snapshot_path(const struct server_setup *s, const uint8_t *arg, size_t len, char *out, size_t cap,
                             rs_err *err)
{
    /* shown in INFO and logs, one line each: no NUL or control characters */
    if (len == 0 || len >= cap)
        return rs_err_set(err, RS_E_INVALID, "snapshot path must be 1 to %zu bytes", cap - 1);
    for (size_t i = 0; i < len; i++)
        if (arg[i] < 0x20 || arg[i] == 0x7f)
            return rs_err_set(err, RS_E_INVALID, "snapshot path holds a control character (byte %zu)", i);
    char path[PATH_MAX];
    memcpy(path, arg, len);
    path[len] = '\0';
    if (s->snapshot_dir[0] == '\0')
        return rs_err_set(err, RS_E_INVALID, "no snapshot directory: start serve with --snapshot-dir DIR");
    const char *rel = NULL;
    rs_code rc = relative(s, path, &rel, err);
    if (rc == RS_OK)
        rc = check_components(path, rel, err);
    if (rc == RS_OK)
        rc = check_parent(s, path, rel, err);
    if (rc == RS_OK && (size_t)snprintf(out, cap, "%s/%s", s->snapshot_dir, rel) >= cap)
        rc = rs_err_set(err, RS_E_INVALID, "snapshot path '%.200s' is too long", path);
    return rc;
}
