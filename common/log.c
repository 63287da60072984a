/*
 * The log writer. Each event is formatted into one buffer and written with a
 * single fwrite under a lock, so lines from different threads never mix.
 */
#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

rs_log_level rs_log_threshold = RS_LOG_INFO;

static rs_log_format log_format = RS_LOG_TEXT;
static FILE *log_stream;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void rs_log_set_level(rs_log_level level) { rs_log_threshold = level; }
void rs_log_set_format(rs_log_format format) { log_format = format; }

void rs_log_set_stream(FILE *stream)
{
    pthread_mutex_lock(&log_lock);
    log_stream = stream;
    pthread_mutex_unlock(&log_lock);
}

int rs_log_level_parse(const char *name, rs_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (rs_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Appends s to buf as the inside of a JSON string. */
static size_t json_escape(char *buf, size_t cap, size_t at, const char *s)
{
    for (; *s != '\0' && at + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[at++] = '\\';
            buf[at++] = (char)c;
        } else if (c < 0x20) {
            at += (size_t)snprintf(buf + at, cap - at, "\\u%04x", c);
        } else {
            buf[at++] = (char)c;
        }
    }
    buf[at] = '\0';
    return at;
}

static size_t format_time(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
    return n;
}

void rs_log_write(rs_log_level level, const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    char out[2300];
    char when[40];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* one event, one line: a stray newline would split it */
    for (char *p = msg; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    format_time(when, sizeof when);
    const char *base = strrchr(file, '/');
    base = base != NULL ? base + 1 : file;

    size_t n;
    if (log_format == RS_LOG_JSON) {
        n = (size_t)snprintf(out, sizeof out, "{\"time\":\"%s\",\"level\":\"%s\",\"src\":\"%s:%d\",\"msg\":\"",
                             when, level_names[level], base, line);
        n = json_escape(out, sizeof out - 3, n, msg);
        n += (size_t)snprintf(out + n, sizeof out - n, "\"}\n");
    } else {
        n = (size_t)snprintf(out, sizeof out, "%s %-5s %s (%s:%d)\n", when, level_names[level], msg, base,
                             line);
    }
    if (n >= sizeof out)
        n = sizeof out - 1;

    pthread_mutex_lock(&log_lock);
    FILE *to = log_stream != NULL ? log_stream : stderr;
    fwrite(out, 1, n, to);
    fflush(to);
    pthread_mutex_unlock(&log_lock);
}
