/*
 * Files that hold a secret (snapshot keys, the replication key, a
 * password): read whole into locked memory, failing closed. The one
 * standard for all of them: the last path component must not be a
 * symbolic link, the file must be a regular file no larger than the
 * caller's bound, and one holding a secret must not be accessible by group
 * or others (as ssh refuses such keys). Messages name the file and never
 * quote its content.
 */
#ifndef RS_COMMON_SECRET_FILE_H
#define RS_COMMON_SECRET_FILE_H

#include <stddef.h>

#include "common/err.h"

/* A file's bytes, read by rs_secret_file_read. */
typedef struct rs_secret_file {
    char    *text;  /* len bytes and a NUL, in locked memory (sodium_malloc:
                     * never swapped, guarded, wiped when released) */
    size_t   len;
    unsigned mode;  /* the file's permission bits (st_mode & 07777) */
} rs_secret_file;

/* rs_secret_file_read flags. */
enum {
    /* Read without checking the mode: the file may turn out to hold only a
     * public key. The caller checks with rs_secret_file_check_private once
     * it knows there is a secret. */
    RS_SECRET_FILE_MAY_BE_SHARED = 1u << 0,
};

/* Reads the file at path (at most max_bytes) into out. what names the kind
 * of file in messages ("key file"). Errors: RS_E_NOTFOUND (missing),
 * RS_E_INVALID (a symbolic link, not a regular file, larger than
 * max_bytes), RS_E_AUTH (group or others may access it), RS_E_NOMEM (no
 * locked memory), RS_E_IO. On failure out is left empty. */
rs_code rs_secret_file_read(const char *path, const char *what, size_t max_bytes, unsigned flags,
                            rs_secret_file *out, rs_err *err);

/* RS_E_AUTH, with a hint, when mode lets group or others access the file
 * at path; RS_OK otherwise. */
rs_code rs_secret_file_check_private(const char *path, const char *what, unsigned mode, rs_err *err);

/* Wipes and frees the text; leaves f empty. NULL and empty allowed. */
void rs_secret_file_release(rs_secret_file *f);

#endif
