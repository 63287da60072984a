/* The failure path of rs_assert(): one log line naming the broken invariant
 * and where, then abort() so a core dump keeps the state that broke it. */
#include "common/assert.h"

#include <stdlib.h>

#include "common/log.h"

void rs_assert_fail(const char *cond, const char *file, int line, const char *func)
{
    rs_log_write(RS_LOG_ERROR, file, line, "invariant broken in %s(): %s (a bug in rockstream)", func, cond);
    abort();
}
