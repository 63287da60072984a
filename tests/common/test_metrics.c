/*
 * common/metrics: one table, three renderings (INFO, `rockstream stat`,
 * Prometheus's text format), byte for byte as written by hand here; a
 * group picks rows; a field in milliseconds is shown in seconds exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "testlib/testlib.h"

struct sample {
    uint64_t hits;
    uint64_t open_now;
    uint64_t took_ms;
};

static const rs_metric table[] = {
    RS_METRIC(RS_METRIC_COUNTER, struct sample, hits, "stats", "cache_hits", "rockstream_cache_hits_total",
              "Reads served from the cache"),
    RS_METRIC(RS_METRIC_GAUGE, struct sample, open_now, "clients", "open_now", "rockstream_open",
              "Connections open now"),
    {.name = "last_took_ms", .prom = "rockstream_last_took_seconds", .help = "How long the last one took",
     .group = "stats", .type = RS_METRIC_GAUGE, .offset = offsetof(struct sample, took_ms), .per_base_unit = 1000},
};

static const struct sample values = {.hits = 42, .open_now = 3, .took_ms = 1234};

/* Renders into a string the caller frees. */
static char *render(rs_metric_format fmt, const char *group)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(rs_metrics_write(f, fmt, table, 3, &values, group), 0);
    fclose(f);
    return text;
}

static void renders_info_lines(void **state)
{
    (void)state;
    char *t = render(RS_METRIC_FORMAT_INFO, NULL);
    assert_string_equal(t, "cache_hits:42\r\nopen_now:3\r\nlast_took_ms:1234\r\n");
    free(t);
    t = render(RS_METRIC_FORMAT_INFO, "stats");
    assert_string_equal(t, "cache_hits:42\r\nlast_took_ms:1234\r\n");
    free(t);
}

static void renders_stat_lines(void **state)
{
    (void)state;
    char *t = render(RS_METRIC_FORMAT_TEXT, "clients");
    assert_string_equal(t, "open_now: 3\n");
    free(t);
}

static void renders_prometheus_text_in_base_units(void **state)
{
    (void)state;
    char *t = render(RS_METRIC_FORMAT_PROMETHEUS, NULL);
    assert_string_equal(t, "# HELP rockstream_cache_hits_total Reads served from the cache\n"
                           "# TYPE rockstream_cache_hits_total counter\n"
                           "rockstream_cache_hits_total 42\n"
                           "# HELP rockstream_open Connections open now\n"
                           "# TYPE rockstream_open gauge\n"
                           "rockstream_open 3\n"
                           "# HELP rockstream_last_took_seconds How long the last one took\n"
                           "# TYPE rockstream_last_took_seconds gauge\n"
                           "rockstream_last_took_seconds 1.234\n");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_info_lines),
        cmocka_unit_test(renders_stat_lines),
        cmocka_unit_test(renders_prometheus_text_in_base_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
