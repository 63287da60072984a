/* Stale temporaries; see stale.h. */
#include "common/stale.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/array.h"
#include "common/fs.h"
#include "common/log.h"

long rs_stale_pid(const char *name, const char *marker, int anchored)
{
    size_t mlen = strlen(marker);
    const char *m = NULL;
    if (anchored)
        m = strncmp(name, marker, mlen) == 0 ? name : NULL;
    else
        for (const char *p = strstr(name, marker); p != NULL; p = strstr(p + 1, marker))
            m = p;
    if (m == NULL || m[mlen] < '0' || m[mlen] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long pid = strtol(m + mlen, &end, 10);
    if (errno != 0 || pid <= 0 || *end != '-' || end[1] == '\0')
        return -1;
    return pid;
}

/* Gone: not us, and no process has the pid (one that exists but is not
 * ours to signal, EPERM, is alive). A pid reused since is taken as alive:
 * its leftover waits for a later sweep rather than risk a live one. */
static int gone(long pid)
{
    return pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void sweep_one(const char *dir, const char *name, long pid, const char *what, size_t *n)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return;
    rs_err err = RS_ERR_INIT;
    if (rs_fs_remove_tree(path, &err) == RS_OK) {
        RS_LOG_INFO("removed stale %s path=%s (left by process %ld, which is gone)", what, path, pid);
        (*n)++;
    } else {
        RS_LOG_WARN("cannot remove stale %s path=%s: %s", what, path, err.msg);
    }
    free(path);
}

struct found {
    char *name;
    long  pid;
};

size_t rs_stale_sweep(const char *dir, const char *marker, int anchored, const char *what)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    /* names first, removals after: the listing is not changed under readdir */
    struct found *f = NULL;
    size_t n = 0, cap = 0, removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = rs_stale_pid(e->d_name, marker, anchored);
        if (pid < 0 || !gone(pid))
            continue;
        struct found *grown = rs_array_grow(f, &cap, n, sizeof *f, 8);
        if (grown == NULL)
            break;
        f = grown;
        if ((f[n].name = strdup(e->d_name)) == NULL)
            break;
        f[n++].pid = pid;
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        sweep_one(dir, f[i].name, f[i].pid, what, &removed);
        free(f[i].name);
    }
    free(f);
    return removed;
}
