/*
 * server/stats.c: the statistics tables follow Prometheus's naming rules
 * (so /metrics can render them as they are), and INFO and `rockstream
 * stat` show every row of them with its live value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_fixture.h"

/* The prefix, counters end in _total and gauges do not, a help line with
 * no newline, a known INFO group, names unique in both namespaces. */
static void check_table(const rs_metric *m, size_t n, const char *const *groups)
{
    for (size_t i = 0; i < n; i++) {
        size_t plen = strlen(m[i].prom);
        int total = plen > 6 && strcmp(m[i].prom + plen - 6, "_total") == 0;
        assert_int_equal(strncmp(m[i].prom, "rockstream_", 11), 0);
        assert_int_equal(total, m[i].type == RS_METRIC_COUNTER);
        assert_non_null(m[i].help);
        assert_null(strchr(m[i].help, '\n'));
        assert_true(strcmp(m[i].group, groups[0]) == 0 || strcmp(m[i].group, groups[1]) == 0);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(m[i].name, m[j].name);
            assert_string_not_equal(m[i].prom, m[j].prom);
        }
    }
}

static void tables_follow_the_naming_rules(void **state)
{
    (void)state;
    size_t n = 0;
    const rs_metric *m = rs_server_store_metrics(&n);
    assert_true(n >= 20);
    check_table(m, n, (const char *const[]){"store", "persistence"});
    check_table(server_metrics, server_n_metrics, (const char *const[]){"stats", "clients"});
}

/* Every row appears in INFO all, with the value the instance holds. */
static void info_shows_every_row(void **state)
{
    (void)state;
    struct srv_fixture *f = srv_fixture_start(NULL);
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "SET k v\r\nGET k\r\nGET nope\r\n");
    srv_fixture_expect(f, fd, "+OK\r\n$1\r\nv\r\n$-1\r\n");
    srv_fixture_send_str(f, fd, "INFO all\r\n");
    char buf[16384];
    size_t got = 0;
    for (int i = 0; i < 200 && (got == 0 || memmem(buf, got, "# Keyspace", 10) == NULL); i++) {
        server_turn(f->srv, 10);
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r > 0)
            got += (size_t)r;
    }
    buf[got] = '\0';
    for (size_t i = 0; i < server_n_metrics; i++) {
        char line[128];
        snprintf(line, sizeof line, "\r\n%s:", server_metrics[i].name);
        assert_non_null(strstr(buf, line));
    }
    size_t n = 0;
    const rs_metric *m = rs_server_store_metrics(&n);
    for (size_t i = 0; i < n; i++) {
        char line[128];
        snprintf(line, sizeof line, "\r\n%s:", m[i].name);
        assert_non_null(strstr(buf, line));
    }
    assert_non_null(strstr(buf, "\r\nkeyspace_hits:1\r\nkeyspace_misses:1\r\n"));
    assert_non_null(strstr(buf, "\r\nconnected_clients:1\r\n"));
    assert_non_null(strstr(buf, "\r\ntotal_commands_processed:4\r\n"));
    close(fd);
    srv_fixture_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tables_follow_the_naming_rules),
        cmocka_unit_test(info_shows_every_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
