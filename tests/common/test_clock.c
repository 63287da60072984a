/* common/clock: deadlines for pthread_cond_timedwait. */
#include "common/clock.h"
#include "testlib/testlib.h"

static int64_t ms_between(struct timespec a, struct timespec b)
{
    return ((int64_t)b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static void deadline_is_timeout_from_now_and_normalised(void **state)
{
    (void)state;
    uint64_t cases[] = {0, 1, 999, 1000, 1500, 86400000};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        struct timespec d = rs_clock_deadline_ts(cases[i]);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000);
        int64_t got = ms_between(now, d);
        assert_true(got >= (int64_t)cases[i] && got <= (int64_t)cases[i] + 50);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deadline_is_timeout_from_now_and_normalised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
