/* common/array: growth by doubling keeps what was there, and a size that
 * would overflow is refused with the array left as it was. */
#include <stdint.h>
#include <stdlib.h>

#include "common/array.h"
#include "testlib/testlib.h"

static void grows_by_doubling_and_keeps_elements(void **state)
{
    (void)state;
    int *a = NULL;
    size_t cap = 0, n = 0;
    for (int i = 0; i < 100; i++) {
        int *grown = rs_array_grow(a, &cap, n, sizeof *a, 4);
        assert_non_null(grown);
        a = grown;
        a[n++] = i;
    }
    assert_int_equal(cap, 128); /* 4, 8, ..., 128 */
    for (int i = 0; i < 100; i++)
        assert_int_equal(a[i], i);
    /* room left: the same array back, cap unchanged */
    assert_ptr_equal(rs_array_grow(a, &cap, n, sizeof *a, 4), a);
    assert_int_equal(cap, 128);
    free(a);
}

static void overflow_is_refused_and_leaves_the_array(void **state)
{
    (void)state;
    char *a = malloc(8);
    assert_non_null(a);
    size_t cap = SIZE_MAX / 2 + 1;
    assert_null(rs_array_grow(a, &cap, cap, 1, 4));
    assert_int_equal(cap, SIZE_MAX / 2 + 1);
    cap = SIZE_MAX / 16;
    assert_null(rs_array_grow(a, &cap, cap, 16, 4)); /* twice the elements overflow the bytes */
    assert_int_equal(cap, SIZE_MAX / 16);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_by_doubling_and_keeps_elements),
        cmocka_unit_test(overflow_is_refused_and_leaves_the_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
