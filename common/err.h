/*
 * Errors: a stable code for programs and a one-line message for people.
 * Every fallible function in rockstream returns an rs_code and takes an
 * rs_err *err as its last argument (NULL allowed). The first, deepest
 * failure wins: rs_err_set() writes only into a clear rs_err, so a failing
 * cleanup never hides the error that caused it.
 */
#ifndef RS_COMMON_ERR_H
#define RS_COMMON_ERR_H

#include <stdarg.h>

#include "common/api.h"

/* Stable: append only, never renumber. Exit codes and Redis error prefixes
 * are derived from these values. */
typedef enum rs_code {
    RS_OK = 0,
    RS_E_INVALID,     /* bad argument or configuration */
    RS_E_NOMEM,
    RS_E_IO,          /* the operating system refused (see sys_errno) */
    RS_E_NOTFOUND,
    RS_E_EXISTS,
    RS_E_CORRUPT,     /* bytes from disk or network failed a check */
    RS_E_VERSION,     /* a format version this build does not know */
    RS_E_PROTOCOL,
    RS_E_NETWORK,
    RS_E_TIMEOUT,
    RS_E_AUTH,
    RS_E_BUSY,        /* locked or in use by someone else */
    RS_E_GAP,         /* a hole in a sequence of batches */
    RS_E_STORE,       /* RocksDB failed in a way not classified above */
    RS_E_UNSUPPORTED,
    RS_E_INTERNAL,    /* a bug: please report */
    RS_E__COUNT
} rs_code;

typedef struct rs_err {
    rs_code     code;
    int         sys_errno;     /* errno where it failed, else 0 */
    const char *hint;          /* static text or NULL, shown on its own line */
    char        msg[256];      /* one line, never a secret */
} rs_err;

#define RS_ERR_INIT {RS_OK, 0, NULL, {0}}

/* Fills a clear err with code and a printf-style message; returns code.
 * If err is NULL or already holds an error, only returns code. */
RS_API rs_code rs_err_set(rs_err *err, rs_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
RS_API rs_code rs_err_vset(rs_err *err, rs_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Like rs_err_set, and records errno (the caller passes it, saved right
 * after the failing call) and appends ": <strerror>" to the message. */
RS_API rs_code rs_err_sys(rs_err *err, rs_code code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets the hint of an err that holds an error (static text only). */
RS_API void rs_err_hint(rs_err *err, const char *hint);

/* Prepends context ("restore 'x': ") to the message of an err holding an
 * error; does nothing to a clear err. Truncates, never overflows. */
RS_API void rs_err_prefix(rs_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resets err to RS_OK with an empty message. NULL allowed. */
RS_API void rs_err_clear(rs_err *err);

/* A short stable name for a code ("corrupt", "busy"), for logs and tools. */
RS_API const char *rs_code_name(rs_code code);

#endif
