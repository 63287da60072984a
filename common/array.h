/*
 * Growable arrays: the one doubling step every list in rockstream takes
 * before it appends.
 */
#ifndef RS_COMMON_ARRAY_H
#define RS_COMMON_ARRAY_H

#include <stddef.h>

/* Makes room for element n of an array of *cap elements of elem_size
 * bytes: returns items as it is while n < *cap, else the array grown to
 * twice *cap (first_cap the first time) with *cap updated. Returns NULL
 * when memory runs out or the size would overflow; items and *cap are then
 * unchanged and still the caller's to free. */
void *rs_array_grow(void *items, size_t *cap, size_t n, size_t elem_size, size_t first_cap);

#endif
