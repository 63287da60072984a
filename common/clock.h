/*
 * Clocks: monotonic time for durations and deadlines, wall-clock time for
 * records people read. Sleeping restarts after signals.
 */
#ifndef RS_COMMON_CLOCK_H
#define RS_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

uint64_t rs_clock_mono_ns(void);   /* CLOCK_MONOTONIC, nanoseconds */
uint64_t rs_clock_wall_ns(void);   /* CLOCK_REALTIME, ns since the epoch */
void rs_clock_sleep_us(uint64_t us);
/* The CLOCK_REALTIME instant timeout_ms from now, as pthread_cond_timedwait
 * wants it. */
struct timespec rs_clock_deadline_ts(uint64_t timeout_ms);

#endif
