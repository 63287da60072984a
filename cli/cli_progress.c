/*
 * A progress line for long work, redrawn in place on a terminal: how much,
 * how fast, how long to go. Off when stderr is not a terminal, so logs and
 * pipes stay clean.
 */
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"

#define REDRAW_NS 250000000ull

void cli_progress_begin(struct cli_progress *p, const char *what, const char *unit, uint64_t total)
{
    p->what = what;
    p->unit = unit;
    p->total = total;
    p->start_ns = rs_clock_mono_ns();
    p->last_ns = 0;
    p->active = isatty(STDERR_FILENO);
}

static void draw(struct cli_progress *p, uint64_t done, uint64_t bytes, uint64_t now)
{
    double secs = (double)(now - p->start_ns) / 1e9;
    double rate = secs > 0 ? (double)done / secs : 0;
    double mbps = secs > 0 ? (double)bytes / secs / 1e6 : 0;
    fprintf(stderr, "\r%s %llu", p->what, (unsigned long long)done);
    if (p->total > 0)
        fprintf(stderr, "/%llu %s (%.0f%%)", (unsigned long long)p->total, p->unit,
                100.0 * (double)done / (double)p->total);
    else
        fprintf(stderr, " %s", p->unit);
    fprintf(stderr, "  %.0f %s/s  %.1f MB/s", rate, p->unit, mbps);
    if (p->total > 0 && rate > 0 && done < p->total)
        fprintf(stderr, "  ETA %.0fs", (double)(p->total - done) / rate);
    fprintf(stderr, "\033[K");
    fflush(stderr);
}

void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t bytes)
{
    if (!p->active)
        return;
    uint64_t now = rs_clock_mono_ns();
    if (now - p->last_ns < REDRAW_NS)
        return;
    p->last_ns = now;
    draw(p, done, bytes, now);
}

void cli_progress_end(struct cli_progress *p)
{
    if (p->active && p->last_ns != 0)
        fprintf(stderr, "\r\033[K");
}
