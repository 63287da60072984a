/*
 * What every example does when a call fails: print the message and the
 * hint a person can act on, as an application would (the library itself
 * never prints). Kept in one place so each example shows only its subject.
 */
#ifndef RS_EXAMPLE_H
#define RS_EXAMPLE_H

#include <stdio.h>

#include "common/err.h"

/* Prints "prog: what: message" and the hint; returns 1 (an exit status). */
static inline int example_fail(const char *prog, const char *what, const rs_err *err)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, err->msg);
    if (err->hint != NULL)
        fprintf(stderr, "  hint: %s\n", err->hint);
    return 1;
}

#endif
