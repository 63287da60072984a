/*
 * What every instance of a server shares, made once from its config: the
 * defaults filled in, protected mode checked, the TLS context loaded, the
 * command table with its renames, the password's digest (the password
 * itself is not kept), and the SNAPSHOT directory. Everything that can
 * refuse a config refuses it here, before a database is opened or a port
 * bound.
 */
#include <sodium.h>
#include <string.h>

#include "common/log.h"
#include "server/cmd.h"

void rs_server_config_resolve(rs_server_config *cfg)
{
    if (cfg->listen == NULL)
        cfg->listen = "127.0.0.1:6379";
    if (cfg->max_bulk == 0)
        cfg->max_bulk = 512ull << 20;
    if (cfg->max_args == 0)
        cfg->max_args = 1024 * 1024;
    if (cfg->max_request == 0)
        cfg->max_request = 1ull << 30;
    if (cfg->max_output == 0)
        cfg->max_output = 64ull << 20;
    if (cfg->max_clients == 0)
        cfg->max_clients = 10000;
    if (cfg->shutdown_timeout_s == 0)
        cfg->shutdown_timeout_s = 10;
}

static rs_code init_password(struct server_setup *s, rs_err *err)
{
    const rs_server_config *cfg = &s->cfg;
    if (cfg->password == NULL)
        return RS_OK;
    if (cfg->password_len == 0)
        return rs_err_set(err, RS_E_INVALID, "the password is empty");
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    randombytes_buf(s->auth_key, sizeof s->auth_key);
    server_auth_digest(s->auth_key, cfg->password, cfg->password_len, s->auth_digest);
    s->has_password = 1;
    s->cfg.password = NULL; /* not kept: the caller wipes it */
    s->cfg.password_len = 0;
    return RS_OK;
}

/* Protected mode for both ports, and TLS's context. */
static rs_code init_listeners(struct server_setup *s, rs_err *err)
{
    const rs_server_config *cfg = &s->cfg;
    int loopback = 1;
    rs_code rc = server_listen_check(cfg->listen, "--listen", s->has_password, &loopback, err);
    if (rc != RS_OK)
        return rc;
    if (!loopback)
        RS_LOG_WARN("serve: --listen '%s' is not a loopback address and not TLS: the password and the data cross "
                    "the network in the clear (serve them with --tls-port, and keep --listen on 127.0.0.1)",
                    cfg->listen);
    if (cfg->tls_port == NULL) {
        if (cfg->tls_cert_file != NULL || cfg->tls_key_file != NULL || cfg->tls_ca_cert_file != NULL)
            return rs_err_set(err, RS_E_INVALID, "TLS files are given but no --tls-port to serve TLS on");
        return RS_OK;
    }
    char spec[300];
    rc = server_tls_spec(cfg, spec, sizeof spec, err);
    if (rc == RS_OK)
        rc = server_listen_check(spec, "--tls-port", s->has_password, &loopback, err);
    if (rc == RS_OK)
        rc = server_tls_create(cfg->tls_cert_file, cfg->tls_key_file, cfg->tls_ca_cert_file, &s->tls, err);
    return rc;
}

static rs_code check_limits(const rs_server_config *cfg, rs_err *err)
{
    if (cfg->max_request < cfg->max_bulk)
        return rs_err_set(err, RS_E_INVALID, "max-request (%llu) is smaller than max-bulk (%llu)",
                          (unsigned long long)cfg->max_request, (unsigned long long)cfg->max_bulk);
    return RS_OK;
}

rs_code server_setup_init(struct server_setup *s, const rs_server_config *cfg, rs_err *err)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    rs_server_config_resolve(&s->cfg);
    if (cfg->store_cfg != NULL)
        s->store_cfg = *cfg->store_cfg;
    s->cfg.store_cfg = &s->store_cfg;
    rs_code rc = check_limits(&s->cfg, err);
    if (rc == RS_OK)
        rc = init_password(s, err);
    if (rc == RS_OK)
        rc = init_listeners(s, err);
    if (rc == RS_OK)
        rc = server_cmd_table_create(cfg->renames, cfg->n_renames, &s->cmds, err);
    if (rc == RS_OK)
        rc = server_snapshot_dir_init(s, err);
    if (rc != RS_OK) {
        server_setup_release(s);
        return rc;
    }
    if (cfg->n_renames > 0)
        RS_LOG_INFO("serve: %zu administrative command(s) renamed or disabled", cfg->n_renames);
    return RS_OK;
}

void server_setup_release(struct server_setup *s)
{
    server_cmd_table_destroy(s->cmds);
    server_tls_destroy(s->tls);
    sodium_memzero(s, sizeof *s);
}
