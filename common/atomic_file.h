/*
 * Writing a file atomically: the bytes go to a temporary file beside the
 * destination, which is fsync'd, then given the final name (rename(2), or
 * link(2) when an existing file must never be replaced), and the directory
 * is fsync'd. A reader, or the file system after a crash, sees the whole
 * new file or none of it, never a part; an abandoned write leaves nothing
 * under the final name and removes its temporary.
 */
#ifndef RS_COMMON_ATOMIC_FILE_H
#define RS_COMMON_ATOMIC_FILE_H

#include <stddef.h>

#include "common/err.h"

typedef struct rs_atomic_file rs_atomic_file;

/* rs_atomic_file_open flags. */
enum {
    /* Refuse (RS_E_EXISTS) when the destination exists, at open and again,
     * race-free, when the file is named. */
    RS_ATOMIC_FILE_NO_REPLACE = 1u << 0,
};

/* What comes between a destination and its writer's pid in a temporary's
 * name: rs_stale_sweep finds a crashed writer's by it. */
#define RS_ATOMIC_FILE_TEMP_MARK ".tmp-"

/* Starts a file that will be named path (copied) with permission bits mode
 * (exactly: the umask does not apply). The temporary is
 * "<path>.tmp-<pid>-XXXXXX", mode 0600 until committed, so a secret is never
 * readable by others.
 * Errors: RS_E_EXISTS (NO_REPLACE and path exists), RS_E_INVALID (path too
 * long), RS_E_IO. */
rs_code rs_atomic_file_open(const char *path, unsigned mode, unsigned flags, rs_atomic_file **out, rs_err *err);

/* Appends len bytes. RS_E_IO when the system refuses (a full disk). */
rs_code rs_atomic_file_write(rs_atomic_file *f, const void *p, size_t len, rs_err *err);

/* fsyncs the file, names it, fsyncs its directory. Call once. */
rs_code rs_atomic_file_commit(rs_atomic_file *f, rs_err *err);

/* Non-zero once commit has put the file under its final name (even if the
 * directory's fsync then failed): the caller may have to remove it. */
int rs_atomic_file_named(const rs_atomic_file *f);

/* Closes f; an uncommitted file's temporary is removed. NULL allowed. */
void rs_atomic_file_close(rs_atomic_file *f);

/* The whole cycle for bytes held in memory: open, write, commit, close. */
rs_code rs_atomic_file_put(const char *path, const void *p, size_t len, unsigned mode, unsigned flags,
                           rs_err *err);

#endif
