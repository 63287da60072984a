/*
 * The benchmark's table: one line per row with rs_store, raw RocksDB, their
 * ratio, the memory backend beside them, and the target for the
 * row with whether this run met it.
 */
#include <math.h>
#include <stdio.h>

#include "bench/bench_table.h"

void bench_table_header(const char *title)
{
    printf("\n%s\n", title);
    printf("%-40s %12s %12s %8s %12s   %s\n", "row", "rs_store", "raw rocksdb", "rs/raw", "memory", "target");
}

static void cell(double v, int decimals)
{
    if (isnan(v))
        printf(" %12s", "-");
    else
        printf(" %12.*f", decimals, v);
}

static int target_met(const struct bench_line *l)
{
    return isnan(l->target) || (l->lower_is_better ? l->rs <= l->target : l->rs >= l->target);
}

/* rs_store may cost at most 5% against raw RocksDB on every row. */
static int ratio_met(const struct bench_line *l, double ratio)
{
    return l->unbounded || isnan(ratio) || (l->lower_is_better ? ratio <= 1.05 : ratio >= 0.95);
}

int bench_table_line(const struct bench_line *l)
{
    double ratio = isnan(l->raw) || l->raw == 0 ? NAN : l->rs / l->raw;
    printf("%-40s", l->label);
    cell(l->rs, l->decimals);
    cell(l->raw, l->decimals);
    if (isnan(ratio))
        printf(" %8s", "-");
    else
        printf(" %8.2f", ratio);
    cell(l->memory, l->decimals);
    int value_ok = target_met(l), within = ratio_met(l, ratio);
    printf("   %s%s%s\n", l->target_text != NULL ? l->target_text : "", value_ok ? "" : "  MISSED",
           within ? "" : "  (rs/raw past 5%)");
    return value_ok && within;
}
