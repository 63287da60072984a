/*
 * The metrics registry's renderers (see metrics.h): the same table printed
 * as INFO lines, `rockstream stat` lines, or Prometheus's text format.
 */
#include <inttypes.h>
#include <string.h>

#include "common/metrics.h"

uint64_t rs_metric_value(const rs_metric *m, const void *values)
{
    uint64_t v;
    memcpy(&v, (const char *)values + m->offset, sizeof v);
    return v;
}

/* Prometheus wants base units (seconds, bytes): a field kept in
 * milliseconds is printed divided, exactly, as a decimal fraction. */
static int write_prom_value(FILE *f, const rs_metric *m, uint64_t v)
{
    uint32_t per = m->per_base_unit > 1 ? m->per_base_unit : 1;
    if (per == 1)
        return fprintf(f, "%s %" PRIu64 "\n", m->prom, v);
    int digits = 0;
    for (uint32_t p = per; p > 1; p /= 10)
        digits++;
    return fprintf(f, "%s %" PRIu64 ".%0*" PRIu64 "\n", m->prom, v / per, digits, v % per);
}

static int write_one(FILE *f, rs_metric_format fmt, const rs_metric *m, uint64_t v)
{
    switch (fmt) {
    case RS_METRIC_FORMAT_INFO: return fprintf(f, "%s:%" PRIu64 "\r\n", m->name, v);
    case RS_METRIC_FORMAT_TEXT: return fprintf(f, "%s: %" PRIu64 "\n", m->name, v);
    case RS_METRIC_FORMAT_PROMETHEUS:
        if (fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->prom, m->help, m->prom,
                    m->type == RS_METRIC_COUNTER ? "counter" : "gauge") < 0)
            return -1;
        return write_prom_value(f, m, v);
    }
    return -1;
}

int rs_metrics_write(FILE *f, rs_metric_format fmt, const rs_metric *list, size_t n, const void *values,
                     const char *group)
{
    for (size_t i = 0; i < n; i++) {
        if (group != NULL && strcmp(list[i].group, group) != 0)
            continue;
        if (write_one(f, fmt, &list[i], rs_metric_value(&list[i], values)) < 0)
            return -1;
    }
    return 0;
}
