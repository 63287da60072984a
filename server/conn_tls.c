/*
 * The TLS transport (see conn.h), with OpenSSL, and the context a TLS
 * listener hands its connections: the certificate chain, the private key
 * (read as a secret: a key others can read is refused), and optionally a
 * CA that clients' certificates must chain to (Redis's tls-auth-clients).
 *
 * Non-blocking OpenSSL in a level-triggered loop: SSL_read and SSL_write
 * run the handshake themselves; when one of them needs the other
 * direction (a handshake message to send while reading), it says so in
 * conn->want, watch() adds that socket event and ready() turns it back
 * into the client's read or write.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/secret_file.h"
#include "server/conn.h"

/* A PEM key with its chain is a few KiB; this bounds the read. */
#define TLS_KEY_MAX (1024 * 1024)

struct server_tls {
    SSL_CTX *ctx;
};

enum tls_want {
    TLS_READ_WANTS_WRITE = (1u << 0),
    TLS_WRITE_WANTS_READ = (1u << 1),
};

/* OpenSSL's reason for its last error (static text, or NULL), with the
 * error queue cleared for the next call. */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return why;
}

/* ---- the connection ---------------------------------------------------- */

static void note_failure(struct server_conn *c, int ssl_error)
{
    int e = errno;
    const char *why = ssl_reason();
    if (why != NULL)
        snprintf(c->error, sizeof c->error, "TLS: %s", why);
    else if (ssl_error == SSL_ERROR_SYSCALL && e != 0)
        snprintf(c->error, sizeof c->error, "TLS: %s", strerror(e));
    else
        snprintf(c->error, sizeof c->error, "TLS: error %d", ssl_error);
    errno = EPROTO;
}

/* What a failed SSL_read (reading) or SSL_write means for the caller. */
static ssize_t failed(struct server_conn *c, int n, int reading)
{
    unsigned other = reading ? TLS_READ_WANTS_WRITE : TLS_WRITE_WANTS_READ;
    int e = SSL_get_error(c->tls, n);
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        if ((e == SSL_ERROR_WANT_WRITE) == reading)
            c->want |= other;
        else
            c->want &= ~other;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0; /* close_notify, or an EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
    default:
        note_failure(c, e);
        return -1;
    }
}

static ssize_t tls_read(struct server_conn *c, void *buf, size_t len)
{
    ERR_clear_error();
    int n = SSL_read(c->tls, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n <= 0)
        return failed(c, n, 1);
    c->want &= ~TLS_READ_WANTS_WRITE;
    return n;
}

static ssize_t tls_write(struct server_conn *c, const void *buf, size_t len)
{
    ERR_clear_error();
    int n = SSL_write(c->tls, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n <= 0)
        return failed(c, n, 0);
    c->want &= ~TLS_WRITE_WANTS_READ;
    return n;
}

/* Decrypted bytes of a record that did not fit the last read: no socket
 * event will announce them. */
static int tls_pending(const struct server_conn *c) { return SSL_pending(c->tls) > 0; }

static int tls_handshaking(const struct server_conn *c) { return !SSL_is_init_finished(c->tls); }

static uint32_t tls_watch(const struct server_conn *c, uint32_t want)
{
    uint32_t ev = want;
    if ((c->want & TLS_READ_WANTS_WRITE) && (want & EPOLLIN))
        ev |= EPOLLOUT;
    if ((c->want & TLS_WRITE_WANTS_READ) && (want & EPOLLOUT))
        ev |= EPOLLIN;
    return ev;
}

static uint32_t tls_ready(const struct server_conn *c, uint32_t events)
{
    uint32_t r = events;
    if ((c->want & TLS_READ_WANTS_WRITE) && (events & EPOLLOUT))
        r |= EPOLLIN;
    if ((c->want & TLS_WRITE_WANTS_READ) && (events & EPOLLIN))
        r |= EPOLLOUT;
    return r;
}

static void tls_close(struct server_conn *c)
{
    if (c->tls != NULL) {
        /* best effort: a close_notify if the socket takes it now */
        if (SSL_is_init_finished(c->tls))
            SSL_shutdown(c->tls);
        SSL_free(c->tls);
        ERR_clear_error();
    }
    c->tls = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static const struct server_conn_ops tls_ops = {
    .name = "tls",
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .handshaking = tls_handshaking,
    .watch = tls_watch,
    .ready = tls_ready,
    .close = tls_close,
};

rs_code server_conn_tls(struct server_conn *c, int fd, struct server_tls *tls, rs_err *err)
{
    memset(c, 0, sizeof *c);
    c->ops = &tls_ops;
    c->fd = fd;
    SSL *ssl = SSL_new(tls->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        close(fd);
        c->fd = -1;
        return rs_err_set(err, RS_E_NOMEM, "TLS: cannot start a session");
    }
    SSL_set_accept_state(ssl);
    c->tls = ssl;
    return RS_OK;
}

/* ---- the context -------------------------------------------------------- */

static rs_code ssl_failed(rs_err *err, const char *what, const char *path)
{
    const char *why = ssl_reason();
    return rs_err_set(err, RS_E_INVALID, "%s '%s': %s", what, path, why != NULL ? why : "rejected by OpenSSL");
}

/* Encrypted keys would make OpenSSL ask on the terminal: refuse them. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

/* After the certificate: OpenSSL checks that the key is its. */
static rs_code load_key(SSL_CTX *ctx, const char *path, const char *cert_file, rs_err *err)
{
    rs_secret_file f = {0};
    rs_code rc = rs_secret_file_read(path, "TLS key file", TLS_KEY_MAX, 0, &f, err);
    if (rc != RS_OK)
        return rc;
    BIO *bio = BIO_new_mem_buf(f.text, (int)f.len);
    EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    rs_secret_file_release(&f);
    if (key == NULL) {
        ERR_clear_error();
        return rs_err_set(err, RS_E_INVALID, "TLS key file '%s' holds no PEM private key without a passphrase",
                          path);
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, key) == 1;
    EVP_PKEY_free(key);
    if (ok)
        return RS_OK;
    const char *why = ssl_reason();
    return rs_err_set(err, RS_E_INVALID, "TLS key file '%s' does not belong to the certificate in '%s' (%s)", path,
                      cert_file, why != NULL ? why : "rejected by OpenSSL");
}

/* Clients must present a certificate the CA signed (Redis's default,
 * tls-auth-clients yes, once a CA is given). */
static rs_code require_client_certs(SSL_CTX *ctx, const char *ca_file, rs_err *err)
{
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
        return ssl_failed(err, "TLS CA file", ca_file);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
    if (names == NULL)
        return ssl_failed(err, "TLS CA file", ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return RS_OK;
}

static rs_code configure(SSL_CTX *ctx, const char *cert_file, const char *key_file, const char *ca_file, rs_err *err)
{
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* no renegotiation (a client-driven CPU cost), EOF without close_notify
     * is an ordinary close, as most Redis clients end that way */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* the output buffer moves between retries and is sent in parts; idle
     * connections give their record buffers back */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    static const unsigned char sid_ctx[] = "rockstream";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
        return ssl_failed(err, "TLS certificate file", cert_file);
    rs_code rc = load_key(ctx, key_file, cert_file, err);
    if (rc == RS_OK && ca_file != NULL)
        rc = require_client_certs(ctx, ca_file, err);
    return rc;
}

rs_code server_tls_create(const char *cert_file, const char *key_file, const char *ca_file, struct server_tls **out,
                          rs_err *err)
{
    if (cert_file == NULL || key_file == NULL)
        return rs_err_set(err, RS_E_INVALID, "TLS needs a certificate and its key (--tls-cert-file, --tls-key-file)");
    struct server_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    t->ctx = SSL_CTX_new(TLS_server_method());
    rs_code rc = t->ctx != NULL ? configure(t->ctx, cert_file, key_file, ca_file, err)
                                : rs_err_set(err, RS_E_INTERNAL, "TLS: OpenSSL cannot make a context");
    if (rc != RS_OK) {
        server_tls_destroy(t);
        return rc;
    }
    *out = t;
    return RS_OK;
}

void server_tls_destroy(struct server_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}
