/*
 * Invariants. rs_assert() is always on and cheap: it guards the branches that
 * cannot happen unless rockstream itself is wrong, where carrying on would let
 * data diverge (a write silently dropped, a sequence out of order). It logs
 * the failed condition with its place and aborts. rs_debug_assert() holds
 * the expensive checks and compiles to nothing unless RS_DEBUG_ASSERTS is
 * defined (test builds). Bad bytes from disk or the network are never
 * asserted on: they are RS_E_CORRUPT.
 */
#ifndef RS_COMMON_ASSERT_H
#define RS_COMMON_ASSERT_H

void rs_assert_fail(const char *cond, const char *file, int line, const char *func)
    __attribute__((noreturn));

#define rs_assert(cond)                                                     \
    do {                                                                    \
        if (__builtin_expect(!(cond), 0))                                   \
            rs_assert_fail(#cond, __FILE__, __LINE__, __func__);            \
    } while (0)

#ifdef RS_DEBUG_ASSERTS
#define rs_debug_assert(cond) rs_assert(cond)
#else
#define rs_debug_assert(cond) ((void)sizeof(!(cond)))
#endif

#endif
