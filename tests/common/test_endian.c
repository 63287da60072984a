/* common/endian: known byte layouts, and loads that undo stores. */
#include <string.h>

#include "common/endian.h"
#include "testlib/testlib.h"

static void stores_lowest_byte_first(void **state)
{
    (void)state;
    uint8_t b[8];
    rs_le64_put(b, 0x0807060504030201ull);
    const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(b, want, 8);
    rs_le32_put(b, 0xa1b2c3d4u);
    const uint8_t want32[4] = {0xd4, 0xc3, 0xb2, 0xa1};
    assert_memory_equal(b, want32, 4);
    rs_le16_put(b, 0xbeef);
    assert_int_equal(b[0], 0xef);
    assert_int_equal(b[1], 0xbe);
}

static void loads_undo_stores_at_any_alignment(void **state)
{
    (void)state;
    uint8_t b[16] = {0};
    for (int off = 0; off < 8; off++) {
        rs_le64_put(b + off, 0xfedcba9876543210ull);
        assert_int_equal(rs_le64_get(b + off), 0xfedcba9876543210ull);
        rs_le32_put(b + off, 0x89abcdefu);
        assert_int_equal(rs_le32_get(b + off), 0x89abcdefu);
        rs_le16_put(b + off, 0xfffe);
        assert_int_equal(rs_le16_get(b + off), 0xfffe);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stores_lowest_byte_first),
        cmocka_unit_test(loads_undo_stores_at_any_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
