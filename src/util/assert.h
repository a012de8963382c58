/* assert.h — invariant checks that stay on in release builds.
 *
 * SYN_ASSERT is for our own invariants only (a failure is a bug in synod). Never use it on
 * input from clients, peers, config or disk: those get an error code and a clear message. */
#ifndef SYNOD_UTIL_ASSERT_H
#define SYNOD_UTIL_ASSERT_H

void syn_assert_fail(const char *expr, const char *file, int line, const char *func)
    __attribute__((noreturn));

#define SYN_ASSERT(expr)                                                                           \
    do {                                                                                           \
        if (__builtin_expect(!(expr), 0)) syn_assert_fail(#expr, __FILE__, __LINE__, __func__);    \
    } while (0)

/* Compares two integers and prints both values on failure. */
#define SYN_ASSERT_CMP(a, op, b)                                                                   \
    do {                                                                                           \
        long long syn_a_ = (long long)(a), syn_b_ = (long long)(b);                                \
        if (__builtin_expect(!(syn_a_ op syn_b_), 0))                                              \
            syn_assert_cmp_fail(#a " " #op " " #b, syn_a_, syn_b_, __FILE__, __LINE__, __func__);  \
    } while (0)

void syn_assert_cmp_fail(const char *expr, long long a, long long b, const char *file, int line,
                         const char *func) __attribute__((noreturn));

#endif
