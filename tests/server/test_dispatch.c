/*
 * server/dispatch.c and the commands' gate: before AUTH a client runs
 * AUTH, HELLO and QUIT only and sends small requests only; a wrong
 * password is refused, counted, and never changes the connection's state;
 * renamed and disabled commands; unknown commands, arity and read-only in
 * Redis's words.
 */
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "server_fixture.h"

static const char PASSWORD[] = "correct horse battery staple";

static struct srv_fixture *with_password(void)
{
    rs_server_config cfg = {.password = (const uint8_t *)PASSWORD, .password_len = sizeof PASSWORD - 1};
    return srv_fixture_start(&cfg);
}

static void before_auth_only_auth_hello_and_quit_run(void **state)
{
    (void)state;
    struct srv_fixture *f = with_password();
    rs_test_put(f->db->store, "k", "v");
    int fd = srv_fixture_client(f, 0);
    static const char *const refused[] = {"PING\r\n", "GET k\r\n", "SET k x\r\n", "INFO\r\n", "COMMAND COUNT\r\n",
                                          "SNAPSHOT x.rsa\r\n", "DEBUG DIGEST\r\n", "no-such-command\r\n",
                                          "CLIENT SETNAME x\r\n", "HELLO 2\r\n"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        srv_fixture_send_str(f, fd, refused[i]);
        srv_fixture_expect(f, fd, i + 1 < sizeof refused / sizeof refused[0]
                                      ? "-NOAUTH Authentication required.\r\n"
                                      : "-NOAUTH HELLO must be called with the client already authenticated, "
                                        "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                                        "authenticate the client and select the RESP protocol version at the "
                                        "same time\r\n");
    }
    rs_test_expect_value(f->db->store, NULL, "k", "v");
    srv_fixture_send_str(f, fd, "QUIT\r\n");
    assert_int_equal(srv_fixture_expect_close(f, fd), strlen("+OK\r\n"));
    close(fd);
    srv_fixture_stop(f);
}

static void wrong_password_is_refused_and_counted(void **state)
{
    (void)state;
    struct srv_fixture *f = with_password();
    int fd = srv_fixture_client(f, 0);
    const char *wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    srv_fixture_send_str(f, fd, "AUTH correct-horse\r\n");
    srv_fixture_expect(f, fd, wrongpass);
    srv_fixture_send_str(f, fd, "*3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n$28\r\ncorrect horse battery staple\r\n");
    srv_fixture_expect(f, fd, wrongpass); /* the right password for a user that does not exist */
    srv_fixture_send_str(f, fd, "*4\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n");
    srv_fixture_expect(f, fd, "-ERR Syntax error in HELLO option 'AUTH'\r\n");
    srv_fixture_send_str(f, fd, "PING\r\n");
    srv_fixture_expect(f, fd, "-NOAUTH Authentication required.\r\n");
    assert_int_equal(f->srv->stats.auth_failures, 2);
    close(fd);
    srv_fixture_stop(f);
}

static void right_password_opens_the_connection(void **state)
{
    (void)state;
    struct srv_fixture *f = with_password();
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "*2\r\n$4\r\nAUTH\r\n$28\r\ncorrect horse battery staple\r\nSET a 1\r\nGET a\r\n");
    srv_fixture_expect(f, fd, "+OK\r\n+OK\r\n$1\r\n1\r\n");
    close(fd);
    /* HELLO 2 AUTH default <password> SETNAME x: a map, and the name */
    fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "*7\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n"
                                "$28\r\ncorrect horse battery staple\r\n$7\r\nSETNAME\r\n$2\r\nme\r\nCLIENT GETNAME\r\n");
    srv_fixture_expect(f, fd, "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n"
                              "$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:2\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                              "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n$2\r\nme\r\n");
    srv_fixture_send_str(f, fd, "HELLO 3\r\n");
    srv_fixture_expect(f, fd, "-NOPROTO sorry, this protocol version is not supported (rockstream speaks RESP2)\r\n");
    assert_int_equal(f->srv->stats.auth_failures, 0);
    close(fd);
    srv_fixture_stop(f);
}

/* Before AUTH a request is small: more than 10 arguments, or one of more
 * than 16 KiB, is a protocol error, refused before it is allocated. */
static void requests_before_auth_are_small(void **state)
{
    (void)state;
    struct srv_fixture *f = with_password();
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "*11\r\n");
    assert_int_equal(srv_fixture_expect_close(f, fd), strlen("-ERR Protocol error: invalid multibulk length\r\n"));
    close(fd);
    fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "*2\r\n$4\r\nAUTH\r\n$16385\r\n");
    assert_int_equal(srv_fixture_expect_close(f, fd), strlen("-ERR Protocol error: invalid bulk length\r\n"));
    close(fd);
    /* after AUTH, the configured limits */
    fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "AUTH \"x\"\r\n");
    srv_fixture_expect(f, fd, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    srv_fixture_send_str(f, fd, "*2\r\n$4\r\nAUTH\r\n$28\r\ncorrect horse battery staple\r\n"
                                "*12\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
                                "$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nf\r\n");
    srv_fixture_expect(f, fd, "+OK\r\n-ERR wrong number of arguments for 'mset' command\r\n");
    close(fd);
    srv_fixture_stop(f);
}

static void auth_without_a_password_says_so(void **state)
{
    (void)state;
    struct srv_fixture *f = srv_fixture_start(NULL);
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "AUTH x\r\nAUTH default x\r\nPING\r\n");
    srv_fixture_expect(f, fd, "-ERR AUTH <password> called without any password configured for the default user. "
                              "Are you sure your configuration is correct?\r\n+OK\r\n+PONG\r\n");
    close(fd);
    srv_fixture_stop(f);
}

/* DEBUG renamed, REPLICAOF disabled (and SLAVEOF with it): the old names
 * are unknown, the new one works, COMMAND lists what can be called. */
static void renamed_and_disabled_commands(void **state)
{
    (void)state;
    rs_server_config cfg = {.renames = {{"DEBUG", "dbg-7f3a"}, {"replicaof", ""}}, .n_renames = 2};
    struct srv_fixture *f = srv_fixture_start(&cfg);
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "DEBUG DIGEST\r\nREPLICAOF NO ONE\r\nSLAVEOF NO ONE\r\nCOMMAND DOCS debug\r\n");
    srv_fixture_expect(f, fd, "-ERR unknown command 'DEBUG', with args beginning with: 'DIGEST' \r\n"
                              "-ERR unknown command 'REPLICAOF', with args beginning with: 'NO' 'ONE' \r\n"
                              "-ERR unknown command 'SLAVEOF', with args beginning with: 'NO' 'ONE' \r\n*0\r\n");
    uint8_t d[RS_STORE_DIGEST_BYTES];
    char want[2 * RS_STORE_DIGEST_BYTES + 4] = "+";
    assert_int_equal(rs_store_digest(f->db->store, NULL, d, NULL, NULL), RS_OK);
    sodium_bin2hex(want + 1, sizeof want - 1, d, sizeof d);
    strcat(want, "\r\n");
    srv_fixture_send_str(f, fd, "DBG-7F3A DIGEST\r\n");
    srv_fixture_expect(f, fd, want);
    close(fd);
    srv_fixture_stop(f);
}

static void read_only_refuses_writes_before_they_run(void **state)
{
    (void)state;
    rs_server_config cfg = {.read_only = 1};
    struct srv_fixture *f = srv_fixture_start(&cfg);
    rs_test_put(f->db->store, "k", "v");
    int fd = srv_fixture_client(f, 0);
    srv_fixture_send_str(f, fd, "SET k x\r\nDEL k\r\nINCR n\r\nGET k\r\n");
    srv_fixture_expect(f, fd, "-READONLY You can't write against a read only server\r\n"
                              "-READONLY You can't write against a read only server\r\n"
                              "-READONLY You can't write against a read only server\r\n$1\r\nv\r\n");
    close(fd);
    srv_fixture_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(before_auth_only_auth_hello_and_quit_run),
        cmocka_unit_test(wrong_password_is_refused_and_counted),
        cmocka_unit_test(right_password_opens_the_connection),
        cmocka_unit_test(requests_before_auth_are_small),
        cmocka_unit_test(auth_without_a_password_says_so),
        cmocka_unit_test(renamed_and_disabled_commands),
        cmocka_unit_test(read_only_refuses_writes_before_they_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
