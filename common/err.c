/*
 * rs_err helpers. No allocation: an error can be raised when memory is
 * exhausted and copied between threads by value.
 */
#include "common/err.h"

#include <stdio.h>
#include <string.h>

static const char *const code_names[RS_E__COUNT] = {
    [RS_OK] = "ok",
    [RS_E_INVALID] = "invalid",
    [RS_E_NOMEM] = "nomem",
    [RS_E_IO] = "io",
    [RS_E_NOTFOUND] = "notfound",
    [RS_E_EXISTS] = "exists",
    [RS_E_CORRUPT] = "corrupt",
    [RS_E_VERSION] = "version",
    [RS_E_PROTOCOL] = "protocol",
    [RS_E_NETWORK] = "network",
    [RS_E_TIMEOUT] = "timeout",
    [RS_E_AUTH] = "auth",
    [RS_E_BUSY] = "busy",
    [RS_E_GAP] = "gap",
    [RS_E_STORE] = "store",
    [RS_E_UNSUPPORTED] = "unsupported",
    [RS_E_INTERNAL] = "internal",
};

const char *rs_code_name(rs_code code)
{
    if ((unsigned)code >= RS_E__COUNT)
        return "unknown";
    return code_names[code];
}

rs_code rs_err_vset(rs_err *err, rs_code code, const char *fmt, va_list ap)
{
    if (err == NULL || err->code != RS_OK || code == RS_OK)
        return code;
    err->code = code;
    err->sys_errno = 0;
    err->hint = NULL;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

rs_code rs_err_set(rs_err *err, rs_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rs_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

rs_code rs_err_sys(rs_err *err, rs_code code, int sys_errno, const char *fmt, ...)
{
    if (err == NULL || err->code != RS_OK || code == RS_OK)
        return code;
    va_list ap;
    va_start(ap, fmt);
    rs_err_vset(err, code, fmt, ap);
    va_end(ap);
    err->sys_errno = sys_errno;
    size_t used = strlen(err->msg);
    if (sys_errno != 0 && used < sizeof err->msg)
        snprintf(err->msg + used, sizeof err->msg - used, ": %s", strerror(sys_errno));
    return code;
}

void rs_err_hint(rs_err *err, const char *hint)
{
    if (err != NULL && err->code != RS_OK)
        err->hint = hint;
}

void rs_err_prefix(rs_err *err, const char *fmt, ...)
{
    if (err == NULL || err->code == RS_OK)
        return;
    char prefix[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* prefix + ": " + old message, truncated to fit */
    char joined[sizeof err->msg];
    size_t plen = strlen(prefix), mlen = strlen(err->msg), cap = sizeof joined - 1;
    size_t at = plen < cap ? plen : cap;
    memcpy(joined, prefix, at);
    for (const char *sep = ": "; *sep != '\0' && at < cap; sep++)
        joined[at++] = *sep;
    size_t take = mlen < cap - at ? mlen : cap - at;
    memcpy(joined + at, err->msg, take);
    joined[at + take] = '\0';
    memcpy(err->msg, joined, sizeof err->msg);
}

void rs_err_clear(rs_err *err)
{
    if (err == NULL)
        return;
    err->code = RS_OK;
    err->sys_errno = 0;
    err->hint = NULL;
    err->msg[0] = '\0';
}
