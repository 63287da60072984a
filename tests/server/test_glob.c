/*
 * server/glob.c: Redis-style glob matching, binary safe, and the literal
 * prefix a SCAN seeks to.
 */
#include <string.h>

#include "server/glob.h"
#include "testlib/testlib.h"

static int m(const char *pat, const char *s)
{
    return server_glob_match((const uint8_t *)pat, strlen(pat), (const uint8_t *)s, strlen(s));
}

static void stars_and_question_marks_match(void **state)
{
    (void)state;
    assert_true(m("*", ""));
    assert_true(m("user:*", "user:42"));
    assert_false(m("user:*", "usr:42"));
    assert_true(m("a*b*c", "aXXbYYc"));
    assert_false(m("a*b*c", "aXXbYY"));
    assert_true(m("h?llo", "hello"));
    assert_false(m("h?llo", "hllo"));
    assert_true(m("**a**", "xxa"));
}

static void classes_match_one_byte(void **state)
{
    (void)state;
    assert_true(m("h[ae]llo", "hallo"));
    assert_false(m("h[ae]llo", "hillo"));
    assert_true(m("h[^e]llo", "hallo"));
    assert_false(m("h[^e]llo", "hello"));
    assert_true(m("k[0-9]", "k7"));
    assert_true(m("k[9-0]", "k7")); /* reversed range, as Redis allows */
    assert_false(m("k[0-9]", "kx"));
    assert_true(m("a[", "a["));     /* unterminated: literal */
}

static void backslash_makes_the_next_byte_literal(void **state)
{
    (void)state;
    assert_true(m("a\\*b", "a*b"));
    assert_false(m("a\\*b", "aXb"));
}

static void matching_is_binary_safe(void **state)
{
    (void)state;
    const uint8_t key[] = {'k', 0, 0xff, 'z'};
    assert_true(server_glob_match((const uint8_t *)"k*z", 3, key, sizeof key));
    assert_true(server_glob_match((const uint8_t *)"k??z", 4, key, sizeof key));
}

static void pathological_patterns_finish_quickly(void **state)
{
    (void)state;
    char s[4001];
    memset(s, 'a', 4000);
    s[4000] = '\0';
    /* a recursive matcher takes exponential time here */
    assert_false(m("a*a*a*a*a*a*a*a*a*a*a*a*b", s));
}

static void literal_prefix_stops_at_the_first_wildcard(void **state)
{
    (void)state;
    uint8_t out[32];
    assert_int_equal(server_glob_literal_prefix((const uint8_t *)"user:*", 6, out), 5);
    assert_memory_equal(out, "user:", 5);
    assert_int_equal(server_glob_literal_prefix((const uint8_t *)"a\\*b?", 5, out), 3);
    assert_memory_equal(out, "a*b", 3);
    assert_int_equal(server_glob_literal_prefix((const uint8_t *)"*x", 2, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stars_and_question_marks_match),
        cmocka_unit_test(classes_match_one_byte),
        cmocka_unit_test(backslash_makes_the_next_byte_literal),
        cmocka_unit_test(matching_is_binary_safe),
        cmocka_unit_test(pathological_patterns_finish_quickly),
        cmocka_unit_test(literal_prefix_stops_at_the_first_wildcard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
