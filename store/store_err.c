/*
 * RocksDB reports failures as a malloc'd "Kind: detail" string. This file
 * turns that string into an rs_err a person can act on: a code to branch on,
 * a sentence naming the database, and a hint saying what to do. Nothing
 * outside store/ ever sees an errptr.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

#define HINT_RESTORE "rockstream changed nothing; restore it from a backup (rockstream restore)"

struct err_rule {
    const char *needle;    /* substring of RocksDB's message */
    rs_code     code;
    int         sys_errno;
    const char *sentence;  /* printf format with one %s: the path */
    const char *hint;
};

/* First match wins: specific causes before the generic "IO error". */
static const struct err_rule rules[] = {
    {"While lock file", RS_E_BUSY, EAGAIN, "database '%s' is in use by another process",
     "stop the other rockstream (serve, follow) or talk to it over its Redis port"},
    {"lock hold by current process", RS_E_BUSY, EAGAIN, "database '%s' is already open in this process",
     "close the other handle first"},
    {"(create_if_missing is false)", RS_E_NOTFOUND, ENOENT, "no database at '%s'", STORE_HINT_CREATE},
    {"(error_if_exists is true)", RS_E_EXISTS, EEXIST, "a database already exists at '%s'", NULL},
    {"No space left on device", RS_E_IO, ENOSPC, "disk full writing database '%s'",
     "free space on that disk; writes acknowledged before this error are safe"},
    {"Permission denied", RS_E_IO, EACCES, "permission denied on database '%s'",
     "run as a user that may read and write the database directory"},
    {"Read-only file system", RS_E_IO, EROFS, "database '%s' is on a read-only file system",
     "remount it read-write, or open the database read-only"},
    {"No such file or directory: While mkdir if missing", RS_E_NOTFOUND, ENOENT,
     "cannot create database '%s': its parent directory does not exist",
     "create the parent directory first, or check the path"},
    {"Corruption:", RS_E_CORRUPT, 0, "database '%s' is corrupt", HINT_RESTORE},
    /* a file the database lists (a MANIFEST named by CURRENT, an SST file)
     * is gone: the database is damaged, not merely unreadable */
    {"No such file or directory: While open", RS_E_CORRUPT, ENOENT,
     "database '%s' is corrupt: a file it lists is missing", HINT_RESTORE},
    {"Not implemented:", RS_E_UNSUPPORTED, 0, "not supported on database '%s'", NULL},
    {"Invalid argument:", RS_E_INVALID, 0, "invalid request on database '%s'", NULL},
    {"IO error:", RS_E_IO, EIO, "I/O error on database '%s'", NULL},
    {"Busy:", RS_E_BUSY, EBUSY, "database '%s' is busy", "retry the operation"},
    {"TimedOut:", RS_E_TIMEOUT, ETIMEDOUT, "database '%s' timed out", "retry the operation"},
};

/* RocksDB's messages start with the kind ("IO error: "), then the detail;
 * the detail is what helps, so keep only that. */
static const char *detail_of(const char *msg)
{
    const char *colon = strstr(msg, ": ");
    return colon != NULL ? colon + 2 : msg;
}

rs_code store_err_from(rs_err *err, char *errptr, const char *what, const char *path)
{
    const struct err_rule *rule = NULL;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (strstr(errptr, rules[i].needle) != NULL) {
            rule = &rules[i];
            break;
        }
    }
    rs_code code = rule != NULL ? rule->code : RS_E_STORE;
    if (err != NULL && err->code == RS_OK) {
        char sentence[160];
        if (rule != NULL) {
            snprintf(sentence, sizeof sentence, rule->sentence, path);
        } else {
            snprintf(sentence, sizeof sentence, "database '%s' failed", path);
        }
        rs_err_set(err, code, "%s: %s (rocksdb: %s)", what, sentence, detail_of(errptr));
        err->sys_errno = rule != NULL ? rule->sys_errno : 0;
        err->hint = rule != NULL ? rule->hint : NULL;
    }
    rocksdb_free(errptr);
    return code;
}
