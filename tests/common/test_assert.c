/* rs_assert: a true condition costs nothing and returns; a false one logs the
 * condition and its place and aborts (checked in a child process). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/assert.h"
#include "common/log.h"

static void assert_true_condition_returns(void **state)
{
    (void)state;
    int n = 1;
    rs_assert(n == 1);
    rs_debug_assert(n == 1);
}

static void assert_false_condition_logs_and_aborts(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        FILE *log = fdopen(fds[1], "w");
        setvbuf(log, NULL, _IONBF, 0);
        rs_log_set_stream(log);
        signal(SIGABRT, SIG_DFL);
        int applied = 0;
        rs_assert(applied == 1);
        _exit(0);
    }
    close(fds[1]);
    char buf[512] = {0};
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(buf, "applied == 1"));
    assert_non_null(strstr(buf, "assert_false_condition_logs_and_aborts"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(assert_true_condition_returns),
        cmocka_unit_test(assert_false_condition_logs_and_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
