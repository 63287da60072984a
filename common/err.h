/**
 * @file
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

/** Error codes. Stable: append only, never renumber. Exit codes and
 * Redis error prefixes are derived from these values. */
typedef enum rs_code {
    RS_OK = 0,        /**< success */
    RS_E_INVALID,     /**< bad argument or configuration */
    RS_E_NOMEM,       /**< out of memory */
    RS_E_IO,          /**< the operating system refused (see rs_err::sys_errno) */
    RS_E_NOTFOUND,    /**< no such key, file, database or version */
    RS_E_EXISTS,      /**< the target exists and is never replaced */
    RS_E_CORRUPT,     /**< bytes from disk or network failed a check */
    RS_E_VERSION,     /**< a format version this build does not know */
    RS_E_PROTOCOL,    /**< a peer broke the replication protocol */
    RS_E_NETWORK,     /**< a connection failed or was lost */
    RS_E_TIMEOUT,     /**< a deadline passed */
    RS_E_AUTH,        /**< a key, passphrase or peer was refused */
    RS_E_BUSY,        /**< locked or in use by someone else */
    RS_E_GAP,         /**< a hole in a sequence of batches */
    RS_E_STORE,       /**< RocksDB failed in a way not classified above */
    RS_E_UNSUPPORTED, /**< not possible in this state or configuration */
    RS_E_INTERNAL,    /**< a bug: please report */
    RS_E__COUNT       /**< the number of codes (not a code) */
} rs_code;

/** An error: a code to branch on and a message for people. No allocation,
 * so it can be raised when memory is exhausted and copied between threads
 * by value. Initialise with RS_ERR_INIT. */
typedef struct rs_err {
    rs_code     code;          /**< RS_OK while clear */
    int         sys_errno;     /**< errno where it failed, else 0 */
    const char *hint;          /**< what a person can do: static text or NULL,
                                    shown on its own line */
    char        msg[256];      /**< one line, never a secret */
} rs_err;

/** A clear rs_err: `rs_err err = RS_ERR_INIT;` */
#define RS_ERR_INIT {RS_OK, 0, NULL, {0}}

/** Fills a clear err with code and a printf-style message.
 * @param err  the error to fill; NULL, or one already holding an error,
 *             is left as it is (the first, deepest failure wins)
 * @param code the code; RS_OK leaves err clear
 * @param fmt  printf-style format of the message, then its arguments
 * @return code */
RS_API rs_code rs_err_set(rs_err *err, rs_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** rs_err_set with a va_list.
 * @param err  as rs_err_set
 * @param code as rs_err_set
 * @param fmt  printf-style format of the message
 * @param ap   its arguments
 * @return code */
RS_API rs_code rs_err_vset(rs_err *err, rs_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/** Like rs_err_set, and records errno and appends ": <strerror>" to the
 * message.
 * @param err       as rs_err_set
 * @param code      as rs_err_set
 * @param sys_errno errno, saved by the caller right after the failing call
 * @param fmt       printf-style format of the message, then its arguments
 * @return code */
RS_API rs_code rs_err_sys(rs_err *err, rs_code code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Sets the hint of an err that holds an error; a clear err or NULL is
 * left as it is.
 * @param err  the error
 * @param hint static text (borrowed for the life of the program) */
RS_API void rs_err_hint(rs_err *err, const char *hint);

/** Prepends context ("restore 'x': ") to the message of an err holding an
 * error; does nothing to a clear err or NULL. Truncates, never overflows.
 * @param err the error
 * @param fmt printf-style format of the context, then its arguments */
RS_API void rs_err_prefix(rs_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Resets err to RS_OK with an empty message.
 * @param err the error; NULL allowed */
RS_API void rs_err_clear(rs_err *err);

/** A short stable name for a code, for logs and tools.
 * @param code any value
 * @return "ok", "corrupt", "busy", ...; "unknown" for a value that is no
 *         code (static text) */
RS_API const char *rs_code_name(rs_code code);

#endif
