/*
 * server/setup.c: a config is refused, with a message that says why,
 * before anything is opened: protected mode (no password, an address that
 * is not loopback), TLS files without a TLS port, a rename of a command
 * that cannot be renamed, an empty password, limits that contradict.
 * Nothing here binds a port or opens a database.
 */
#include <string.h>

#include "server/cmd.h"
#include "testlib/testlib.h"

static const uint8_t PW[] = "pw";

/* setup_init with cfg: returns its code, err gets the message. */
static rs_code try_setup(const rs_server_config *cfg, rs_err *err)
{
    struct server_setup s;
    rs_code rc = server_setup_init(&s, cfg, err);
    if (rc == RS_OK)
        server_setup_release(&s);
    return rc;
}

static void protected_mode_refuses_other_addresses_without_a_password(void **state)
{
    (void)state;
    static const char *const open_to_others[] = {"0.0.0.0:6379", "[::]:6379"};
    for (size_t i = 0; i < 2; i++) {
        rs_server_config cfg = {.listen = open_to_others[i]};
        rs_err err = RS_ERR_INIT;
        assert_int_equal(try_setup(&cfg, &err), RS_E_INVALID);
        assert_non_null(strstr(err.msg, "is not a loopback address and no password is set"));
        assert_non_null(strstr(err.msg, open_to_others[i]));
        assert_non_null(strstr(err.hint, "--requirepass-file"));
        /* with a password, the same address is fine */
        cfg.password = PW;
        cfg.password_len = 2;
        assert_int_equal(try_setup(&cfg, NULL), RS_OK);
    }
}

static void loopback_addresses_need_no_password(void **state)
{
    (void)state;
    static const char *const local[] = {"127.0.0.1:0", "127.8.9.10:0", "[::1]:0", "localhost:0"};
    for (size_t i = 0; i < 4; i++) {
        rs_server_config cfg = {.listen = local[i]};
        rs_err err = RS_ERR_INIT;
        assert_int_equal(try_setup(&cfg, &err), RS_OK);
    }
}

/* The TLS port is checked too: on its own host, or on --listen's. */
static void protected_mode_covers_the_tls_port(void **state)
{
    (void)state;
    rs_server_config cfg = {.listen = "127.0.0.1:0", .tls_port = "0.0.0.0:6380", .tls_cert_file = "/nonexistent",
                            .tls_key_file = "/nonexistent"};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(try_setup(&cfg, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "--tls-port '0.0.0.0:6380' is not a loopback address"));
    cfg.listen = "0.0.0.0:0";
    cfg.tls_port = "6380";
    cfg.password = PW;
    cfg.password_len = 2;
    rs_err err2 = RS_ERR_INIT;
    /* with a password it gets as far as the certificate */
    assert_int_equal(try_setup(&cfg, &err2), RS_E_INVALID);
    assert_non_null(strstr(err2.msg, "TLS certificate file '/nonexistent'"));
}

static void tls_files_without_a_tls_port_are_refused(void **state)
{
    (void)state;
    rs_server_config cfg = {.tls_cert_file = "/etc/ssl/cert.pem"};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(try_setup(&cfg, &err), RS_E_INVALID);
    assert_string_equal(err.msg, "TLS files are given but no --tls-port to serve TLS on");
    rs_server_config half = {.tls_port = "0", .tls_cert_file = "/etc/ssl/cert.pem"};
    rs_err err2 = RS_ERR_INIT;
    assert_int_equal(try_setup(&half, &err2), RS_E_INVALID);
    assert_non_null(strstr(err2.msg, "TLS needs a certificate and its key"));
}

static void only_administrative_commands_can_be_renamed(void **state)
{
    (void)state;
    rs_server_config cfg = {.renames = {{"get", "fetch"}}, .n_renames = 1};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(try_setup(&cfg, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "rename-command 'get': only SNAPSHOT, REPLICAOF, SLAVEOF and DEBUG"));
    rs_server_config clash = {.renames = {{"snapshot", "GET"}}, .n_renames = 1};
    rs_err err2 = RS_ERR_INIT;
    assert_int_equal(try_setup(&clash, &err2), RS_E_INVALID);
    assert_non_null(strstr(err2.msg, "the new name is already a command"));
    rs_server_config spaced = {.renames = {{"snapshot", "a b"}}, .n_renames = 1};
    rs_err err3 = RS_ERR_INIT;
    assert_int_equal(try_setup(&spaced, &err3), RS_E_INVALID);
    assert_null(strstr(err3.msg, "a b")); /* the new name is never quoted */
}

static void empty_password_and_contradicting_limits_are_refused(void **state)
{
    (void)state;
    rs_server_config cfg = {.password = PW, .password_len = 0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(try_setup(&cfg, &err), RS_E_INVALID);
    assert_string_equal(err.msg, "the password is empty");
    rs_server_config limits = {.max_bulk = 2048, .max_request = 1024};
    rs_err err2 = RS_ERR_INIT;
    assert_int_equal(try_setup(&limits, &err2), RS_E_INVALID);
    assert_string_equal(err2.msg, "max-request (1024) is smaller than max-bulk (2048)");
}

/* The setup keeps a digest, not the password. */
static void the_password_is_not_kept(void **state)
{
    (void)state;
    uint8_t pw[] = "a-password-to-find";
    rs_server_config cfg = {.password = pw, .password_len = sizeof pw - 1};
    struct server_setup s;
    assert_int_equal(server_setup_init(&s, &cfg, NULL), RS_OK);
    assert_true(s.has_password);
    assert_null(s.cfg.password);
    assert_null(memmem(&s, sizeof s, pw, sizeof pw - 1));
    server_setup_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(protected_mode_refuses_other_addresses_without_a_password),
        cmocka_unit_test(loopback_addresses_need_no_password),
        cmocka_unit_test(protected_mode_covers_the_tls_port),
        cmocka_unit_test(tls_files_without_a_tls_port_are_refused),
        cmocka_unit_test(only_administrative_commands_can_be_renamed),
        cmocka_unit_test(empty_password_and_contradicting_limits_are_refused),
        cmocka_unit_test(the_password_is_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
