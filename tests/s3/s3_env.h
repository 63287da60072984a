/*
 * For C tests that talk to the fixture's radosgw (tests/s3/s3.cmake):
 * reads the state file rgw.sh wrote ($RS_S3_STATE) into the environment,
 * so objstore finds the credentials as any AWS tool would.
 */
#ifndef RS_TEST_S3_ENV_H
#define RS_TEST_S3_ENV_H

/* The fixture's radosgw, as rgw.sh described it. Strings live until exit. */
struct rs_test_s3 {
    const char *endpoint;        /* http://127.0.0.1:PORT */
    const char *endpoint_tls;    /* https://127.0.0.1:PORT */
    const char *endpoint_vhost;  /* http://s3.localhost:PORT (virtual-hosted buckets) */
    const char *ca_file;         /* the TLS port's certificate */
    const char *bucket;          /* created by rgw.sh, shared: use a prefix of your own */
    const char *access_key_id;
    const char *secret;
};

/* Loads $RS_S3_STATE (failing the test if it is missing), exports its
 * variables and fills out. */
void rs_test_s3_env(struct rs_test_s3 *out);

#endif
