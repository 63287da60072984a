/*
 * Synthetic workloads: deterministic keys and values for `rockstream load`,
 * the benchmarks and the tests. The same seed and index always give the same
 * bytes, so a test can check what a load wrote without keeping a copy.
 */
#ifndef RS_COMMON_WORKLOAD_H
#define RS_COMMON_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#define RS_WORKLOAD_MAX_KEY   4096
#define RS_WORKLOAD_MAX_VALUE (64u * 1024 * 1024)

typedef struct rs_workload {
    uint64_t seed;
    size_t   key_size;        /* bytes, >= 8 (room for the index) */
    size_t   value_size;
    double   compressibility; /* 0: random bytes ... 1: all repeats */
    int      sequential;      /* keys in index order; else scattered */
} rs_workload;

/* Returns 0 if the sizes and compressibility are in range. */
int rs_workload_check(const rs_workload *w);

/* Writes key number index (key_size bytes) into out. Distinct indexes give
 * distinct keys. Sequential keys sort in index order. */
void rs_workload_key(const rs_workload *w, uint64_t index, uint8_t *out);

/* Writes value number index (value_size bytes) into out: a random head and
 * its repetitions, so a general-purpose compressor saves about
 * compressibility of it. */
void rs_workload_value(const rs_workload *w, uint64_t index, uint8_t *out);

/* splitmix64: a fast, well-mixed step for the generators above. */
uint64_t rs_workload_mix(uint64_t x);

#endif
