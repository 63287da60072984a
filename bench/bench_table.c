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

/* A row meets its target when the value clears it (in the row's better
 * direction) and, where raw is measured, rs_store costs at most 5%. */
static int met(const struct bench_line *l, double ratio)
{
    int value_ok = isnan(l->target) || (l->lower_is_better ? l->rs <= l->target : l->rs >= l->target);
    int ratio_ok = isnan(ratio) || (l->lower_is_better ? ratio <= 1.05 : ratio >= 0.95);
    return value_ok && ratio_ok;
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
    int ok = met(l, ratio);
    printf("   %s%s\n", l->target_text != NULL ? l->target_text : "", ok ? "" : "  MISSED");
    return ok;
}
