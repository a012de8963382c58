/* assert.c — reporting of broken invariants (see assert.h). */
#include "assert.h"

#include <stdio.h>
#include <stdlib.h>

void syn_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "synod: assertion failed: %s (%s:%d in %s)\n", expr, file, line, func);
    fflush(stderr);
    abort();
}

void syn_assert_cmp_fail(const char *expr, long long a, long long b, const char *file, int line,
                         const char *func)
{
    fprintf(stderr, "synod: assertion failed: %s with %lld vs %lld (%s:%d in %s)\n", expr, a, b,
            file, line, func);
    fflush(stderr);
    abort();
}
