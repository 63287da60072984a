/*
 * Store helpers shared by the store tests: open a database or fail the
 * test, write and check string keys, through the latest state or a view.
 */
#ifndef RS_TESTSTORE_H
#define RS_TESTSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define B(s) ((const uint8_t *)(s))

/* Opens path with cfg or fails the test with the store's message. */
rs_store *rs_test_store_open(const char *path, const rs_store_config *cfg);

/* Puts a string key and value or fails the test. */
void rs_test_put(rs_store *s, const char *key, const char *val);

/* Asserts that key reads as want (through view when not NULL). */
void rs_test_expect_value(rs_store *s, const rs_store_view *view, const char *key, const char *want);

/* Asserts that key is absent and that absence left err untouched. */
void rs_test_expect_missing(rs_store *s, const rs_store_view *view, const char *key);

/* Writes "key-<i>" = "value-<i>" (the helper's `write` naming) for i in
 * [first, last) with one put each. */
void rs_test_put_numbered(rs_store *s, unsigned long first, unsigned long last);

/* Asserts that "key-<i>" holds "value-<i>" for every i in [first, last). */
void rs_test_expect_numbered(rs_store *s, const rs_store_view *view, unsigned long first, unsigned long last);

#endif
