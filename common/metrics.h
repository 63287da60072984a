/**
 * @file common/metrics.h
 * @brief The metrics registry: each statistic is listed once.
 *
 * A module that counts something describes each figure once, in a const
 * table of rs_metric: its name in INFO and `rockstream stat`, its
 * Prometheus name (rockstream_ prefix, base units), a help line, its type,
 * and the uint64_t field of a struct it reads. INFO, `rockstream stat` and
 * a /metrics endpoint render the same table over a struct of values, so a
 * figure cannot be spelled three ways or missing from one of them.
 */
#ifndef RS_COMMON_METRICS_H
#define RS_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/api.h"

/** What a figure is, as Prometheus types it. */
typedef enum rs_metric_type {
    RS_METRIC_COUNTER = 1, /**< only grows (since the process or database opened) */
    RS_METRIC_GAUGE,       /**< goes up and down */
} rs_metric_type;

/** One statistic. Lists of them are const tables; nothing here is freed. */
typedef struct rs_metric {
    const char    *name;  /**< INFO and `rockstream stat`: "keyspace_hits" */
    const char    *prom;  /**< Prometheus: "rockstream_keyspace_hits_total"; counters end in _total */
    const char    *help;  /**< one line, for Prometheus's # HELP */
    const char    *group; /**< the INFO section it is shown in ("stats") */
    rs_metric_type type;
    size_t         offset;        /**< offsetof the uint64_t field it reads */
    uint32_t       per_base_unit; /**< the field counts 1/N of the Prometheus
                                       unit (1000: milliseconds for _seconds);
                                       0 or 1: the same unit */
} rs_metric;

/** A table row: type, the struct and its uint64_t field, the group, the
 *  INFO name, the Prometheus name, the help line. */
#define RS_METRIC(type_, st, field, group_, name_, prom_, help_)                                         \
    {.name = (name_), .prom = (prom_), .help = (help_), .group = (group_), .type = (type_),              \
     .offset = offsetof(st, field), .per_base_unit = 1}

/** How rs_metrics_write prints. */
typedef enum rs_metric_format {
    RS_METRIC_FORMAT_INFO = 1,   /**< "name:value\r\n", Redis's INFO */
    RS_METRIC_FORMAT_TEXT,       /**< "name: value\n", `rockstream stat` */
    RS_METRIC_FORMAT_PROMETHEUS, /**< "# HELP", "# TYPE" and "prom value\n"
                                      (the text exposition format 0.0.4) */
} rs_metric_format;

/**
 * The value a metric reads from a struct of values.
 * @param m       the metric
 * @param values  the struct its offset points into (borrowed)
 * @return the field's value
 */
uint64_t rs_metric_value(const rs_metric *m, const void *values);

/**
 * Prints the metrics of a list that belong to a group.
 * @param f       where to print
 * @param fmt     the format
 * @param list    the table (borrowed)
 * @param n       its number of rows
 * @param values  the struct the rows read (borrowed)
 * @param group   print only the rows of this group; NULL prints every row
 * @return 0, or -1 if writing to f failed
 */
int rs_metrics_write(FILE *f, rs_metric_format fmt, const rs_metric *list, size_t n, const void *values,
                            const char *group);

#endif
