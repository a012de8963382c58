/* assert.c — reporting of broken invariants (see assert.h). */
#include "assert.h"

#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>

/* the call stack on stderr (offsets into the binary: `addr2line -f -e synod 0x...`) */
static void backtrace_out(void)
{
    void *frames[48];
    int n = backtrace(frames, 48);
    backtrace_symbols_fd(frames, n, 2);
}

void syn_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "synod: assertion failed: %s (%s:%d in %s)\n", expr, file, line, func);
    fflush(stderr);
    backtrace_out();
    abort();
}

void syn_assert_cmp_fail(const char *expr, long long a, long long b, const char *file, int line,
                         const char *func)
{
    fprintf(stderr, "synod: assertion failed: %s with %lld vs %lld (%s:%d in %s)\n", expr, a, b,
            file, line, func);
    fflush(stderr);
    backtrace_out();
    abort();
}
