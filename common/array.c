#include "common/array.h"

#include <stdint.h>
#include <stdlib.h>

void *rs_array_grow(void *items, size_t *cap, size_t n, size_t elem_size, size_t first_cap)
{
    if (n < *cap)
        return items;
    if (*cap > SIZE_MAX / 2)
        return NULL;
    size_t ncap = *cap == 0 ? first_cap : *cap * 2;
    if (ncap > SIZE_MAX / elem_size)
        return NULL;
    void *grown = realloc(items, ncap * elem_size);
    if (grown != NULL)
        *cap = ncap;
    return grown;
}
