/*
 * Printing the store benchmark's table (bench_table.c).
 */
#ifndef RS_BENCH_TABLE_H
#define RS_BENCH_TABLE_H

/* One line of the table. NAN marks a figure not measured (no raw
 * equivalent, no memory backend figure, no target). */
struct bench_line {
    const char *label;
    double      rs, raw, memory;
    int         decimals;
    int         lower_is_better; /* latencies, sizes */
    int         unbounded;       /* rs/raw shown, not held to the 5% bound */
    double      target;          /* the figure for rs, or NAN */
    const char *target_text;     /* as the issue says it */
};

void bench_table_header(const char *title);

/* Prints the line; returns 1 if it met its target and the 5% bound on
 * rs/raw, else 0 (the line then says which it missed). */
int bench_table_line(const struct bench_line *l);

#endif
