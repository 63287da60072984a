/* common/hex: known answers both ways, and every malformed input refused
 * with the counts or the position, never the text itself. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/log.h"
#include "testlib/testlib.h"

static void encodes_lower_case(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x01, 0x7f, 0xab, 0xff};
    char out[RS_HEX_LEN(sizeof in)];
    assert_ptr_equal(rs_hex_encode(in, sizeof in, out, sizeof out), out);
    assert_string_equal(out, "00017fabff");
    char empty[1] = {'x'};
    rs_hex_encode(in, 0, empty, sizeof empty);
    assert_string_equal(empty, "");
}

static void decodes_either_case(void **state)
{
    (void)state;
    const uint8_t want[] = {0x00, 0x01, 0x7f, 0xab, 0xff};
    uint8_t out[sizeof want];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_hex_decode("00017fAbFF", 10, out, sizeof out, &err), RS_OK);
    assert_memory_equal(out, want, sizeof want);
    /* only n_digits are read: what follows may be anything */
    assert_int_equal(rs_hex_decode("00017fabff\n", 10, out, sizeof out, &err), RS_OK);
    assert_memory_equal(out, want, sizeof want);
}

static void wrong_length_is_refused(void **state)
{
    (void)state;
    uint8_t out[2];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_hex_decode("abc", 3, out, sizeof out, &err), RS_E_INVALID);
    assert_string_equal(err.msg, "3 hex digits where 4 were expected");
    rs_err_clear(&err);
    assert_int_equal(rs_hex_decode("abcdef", 6, out, sizeof out, &err), RS_E_INVALID);
    assert_string_equal(err.msg, "6 hex digits where 4 were expected");
}

static void non_digit_is_refused_without_echoing(void **state)
{
    (void)state;
    uint8_t out[4];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_hex_decode("ab zsecret", 8, out, sizeof out, &err), RS_E_INVALID);
    assert_string_equal(err.msg, "not a hex digit at position 2 of 8");
    rs_err_clear(&err);
    /* the second digit of a pair */
    assert_int_equal(rs_hex_decode("abcg1234", 8, out, sizeof out, &err), RS_E_INVALID);
    assert_null(strstr(err.msg, "abcg"));
    rs_err_clear(&err);
    assert_int_equal(rs_hex_decode("ab\0d1234", 8, out, sizeof out, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "position 2"));
}

/* A buffer too small for the hex is a bug in the caller: it aborts rather
 * than write past the end (checked in a child process). */
static void too_small_buffer_aborts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGABRT, SIG_DFL);
        rs_log_set_stream(fopen("/dev/null", "w")); /* the assert's log line is test_assert's matter */
        const uint8_t in[4] = {1, 2, 3, 4};
        char out[8];
        rs_hex_encode(in, sizeof in, out, sizeof out);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_lower_case),
        cmocka_unit_test(decodes_either_case),
        cmocka_unit_test(wrong_length_is_refused),
        cmocka_unit_test(non_digit_is_refused_without_echoing),
        cmocka_unit_test(too_small_buffer_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
