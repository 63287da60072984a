/*
 * Logging: one line per event to stderr, with a level, as text or JSON.
 * RS_LOG checks the level before it evaluates its arguments. Identifiers are
 * written key=value (seq=, follower=, snapshot=). Never format a secret.
 */
#ifndef RS_COMMON_LOG_H
#define RS_COMMON_LOG_H

#include <stdio.h>

#include "common/api.h"

typedef enum rs_log_level {
    RS_LOG_ERROR = 0,  /* a person must act */
    RS_LOG_WARN,       /* degraded, continuing */
    RS_LOG_INFO,       /* state changes */
    RS_LOG_DEBUG,
    RS_LOG_TRACE,      /* per frame, per request */
} rs_log_level;

typedef enum rs_log_format {
    RS_LOG_TEXT = 0,
    RS_LOG_JSON,
} rs_log_format;

/* The threshold and the format are process-wide; set them before starting
 * threads. Defaults: RS_LOG_INFO, RS_LOG_TEXT, stderr. */
RS_API void rs_log_set_level(rs_log_level level);
RS_API void rs_log_set_format(rs_log_format format);
/* Redirects the log (tests capture it). Borrowed: the caller keeps the FILE
 * open until it sets another one. NULL restores stderr. */
RS_API void rs_log_set_stream(FILE *stream);

/* Parses "error", "warn", "info", "debug", "trace"; returns 0 on success. */
RS_API int rs_log_level_parse(const char *name, rs_log_level *out);

extern RS_API rs_log_level rs_log_threshold;

RS_API void rs_log_write(rs_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define RS_LOG(level, ...)                                                  \
    do {                                                                    \
        if ((level) <= rs_log_threshold)                                    \
            rs_log_write((level), __FILE__, __LINE__, __VA_ARGS__);         \
    } while (0)

#define RS_LOG_ERR(...)   RS_LOG(RS_LOG_ERROR, __VA_ARGS__)
#define RS_LOG_WARN(...)  RS_LOG(RS_LOG_WARN, __VA_ARGS__)
#define RS_LOG_INFO(...)  RS_LOG(RS_LOG_INFO, __VA_ARGS__)
#define RS_LOG_DEBUG(...) RS_LOG(RS_LOG_DEBUG, __VA_ARGS__)
#define RS_LOG_TRACE(...) RS_LOG(RS_LOG_TRACE, __VA_ARGS__)

#endif
