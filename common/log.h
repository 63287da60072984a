/**
 * @file
 * Logging: one line per event to stderr, with a level, as text or JSON.
 * RS_LOG checks the level before it evaluates its arguments. Identifiers are
 * written key=value (seq=, follower=, snapshot=). Never format a secret.
 */
#ifndef RS_COMMON_LOG_H
#define RS_COMMON_LOG_H

#include <stdio.h>

#include "common/api.h"

/** How much is logged: a message is written when its level is at or below
 * the threshold. */
typedef enum rs_log_level {
    RS_LOG_ERROR = 0,  /**< a person must act */
    RS_LOG_WARN,       /**< degraded, continuing */
    RS_LOG_INFO,       /**< state changes */
    RS_LOG_DEBUG,      /**< decisions and their inputs */
    RS_LOG_TRACE,      /**< per frame, per request */
} rs_log_level;

/** How each line is written. */
typedef enum rs_log_format {
    RS_LOG_TEXT = 0,   /**< "time level message key=value..." */
    RS_LOG_JSON,       /**< one JSON object a line */
} rs_log_format;

/** Sets the process-wide threshold (default RS_LOG_INFO); set it before
 * starting threads.
 * @param level the most detailed level written */
RS_API void rs_log_set_level(rs_log_level level);

/** Sets the process-wide format (default RS_LOG_TEXT); set it before
 * starting threads.
 * @param format text or JSON */
RS_API void rs_log_set_format(rs_log_format format);

/** Redirects the log (tests capture it); the default is stderr.
 * @param stream borrowed: the caller keeps it open until it sets another
 *               one; NULL restores stderr */
RS_API void rs_log_set_stream(FILE *stream);

/** Parses a level's name.
 * @param name "error", "warn", "info", "debug" or "trace"
 * @param out  receives the level on success
 * @return 0 on success, -1 for an unknown name */
RS_API int rs_log_level_parse(const char *name, rs_log_level *out);

/** The threshold RS_LOG compares with; set it with rs_log_set_level. */
extern RS_API rs_log_level rs_log_threshold;

/** Writes one line (RS_LOG checks the level first; call that instead).
 * @param level the line's level
 * @param file  the source file it comes from
 * @param line  the source line
 * @param fmt   printf-style format of the message, then its arguments;
 *              never a secret */
RS_API void rs_log_write(rs_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Logs a printf-style message at level, evaluating the arguments only
 * when the level is enabled. */
#define RS_LOG(level, ...)                                                  \
    do {                                                                    \
        if ((level) <= rs_log_threshold)                                    \
            rs_log_write((level), __FILE__, __LINE__, __VA_ARGS__);         \
    } while (0)

#define RS_LOG_ERR(...)   RS_LOG(RS_LOG_ERROR, __VA_ARGS__) /**< RS_LOG at RS_LOG_ERROR */
#define RS_LOG_WARN(...)  RS_LOG(RS_LOG_WARN, __VA_ARGS__)  /**< RS_LOG at RS_LOG_WARN */
#define RS_LOG_INFO(...)  RS_LOG(RS_LOG_INFO, __VA_ARGS__)  /**< RS_LOG at RS_LOG_INFO */
#define RS_LOG_DEBUG(...) RS_LOG(RS_LOG_DEBUG, __VA_ARGS__) /**< RS_LOG at RS_LOG_DEBUG */
#define RS_LOG_TRACE(...) RS_LOG(RS_LOG_TRACE, __VA_ARGS__) /**< RS_LOG at RS_LOG_TRACE */

#endif
