/* test_util.c — shared utilities: CRC-32C (both paths), integer <-> decimal conversions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/crc32c.h"
#include "util/strconv.h"

static void crc32c_known_vectors(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
    unsigned char zeros[32] = {0};
    assert_int_equal(crc32c(0, zeros, sizeof zeros), 0x8A9136AAu); /* RFC 3720 B.4 */
    unsigned char ones[32];
    memset(ones, 0xff, sizeof ones);
    assert_int_equal(crc32c(0, ones, sizeof ones), 0x62A8AB43u);
}

static void crc32c_is_incremental(void **state)
{
    (void)state;
    unsigned char buf[1000];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (unsigned char)(x >> 56);
    }
    uint32_t whole = crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 37)
        assert_int_equal(crc32c(crc32c(0, buf, cut), buf + cut, sizeof buf - cut), whole);
    buf[500] ^= 1;
    assert_int_not_equal(crc32c(0, buf, sizeof buf), whole);
}

/* The portable path (what a CPU without SSE4.2 runs) gives the same checksum as the one this
 * machine uses, for every length, alignment and starting value: nodes on different CPUs check
 * each other's frames, and a data directory may move to another machine. */
static void crc32c_portable_path_agrees(void **state)
{
    (void)state;
    assert_int_equal(crc32c_portable(0, "123456789", 9), 0xE3069283u);
    unsigned char zeros[32] = {0};
    assert_int_equal(crc32c_portable(0, zeros, sizeof zeros), 0x8A9136AAu);
    unsigned char buf[600];
    uint64_t x = 777;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (unsigned char)(x >> 56);
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof buf; len += 1 + len / 16) {
            uint32_t seed = (uint32_t)(len * 2654435761u);
            assert_int_equal(crc32c_portable(seed, buf + off, len), crc32c(seed, buf + off, len));
        }
}

/* Redis's string2ll rules (strconv.h), edge by edge: what is refused leaves *out alone. */
static void string2ll_follows_redis(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
        long long v;
    } cases[] = {
        {"0", 1, 0},
        {"7", 1, 7},
        {"-7", 1, -7},
        {"1234567890", 1, 1234567890},
        {"9223372036854775807", 1, 9223372036854775807LL},
        {"-9223372036854775808", 1, -9223372036854775807LL - 1},
        {"9223372036854775808", 0, 0},
        {"-9223372036854775809", 0, 0},
        {"18446744073709551615", 0, 0},
        {"18446744073709551616", 0, 0},
        {"99999999999999999999", 0, 0},
        {"-0", 0, 0},
        {"007", 0, 0},
        {"-07", 0, 0},
        {"", 0, 0},
        {"-", 0, 0},
        {"+1", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"1a", 0, 0},
        {"0x10", 0, 0},
        {"100000000000000000000", 0, 0}, /* 21 bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long v = 42;
        int ok = syn_string2ll(cases[i].s, strlen(cases[i].s), &v);
        if (ok != cases[i].ok || v != (cases[i].ok ? cases[i].v : 42))
            fail_msg("string2ll(\"%s\"): %d %lld, want %d %lld", cases[i].s, ok, v, cases[i].ok,
                     cases[i].v);
    }
    long long v = 0; /* the length is the argument's, not the C string's */
    assert_int_equal(syn_string2ll("123", 2, &v), 1);
    assert_int_equal(v, 12);
    char *minus = malloc(1); /* nothing after the '-' is read (ASan: no byte follows here) */
    minus[0] = '-';
    assert_int_equal(syn_string2ll(minus, 1, &v), 0);
    free(minus);
}

static void ll2string_round_trips(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(syn_ll2string(buf, 0), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(syn_ll2string(buf, -9223372036854775807LL - 1), 20);
    assert_string_equal(buf, "-9223372036854775808");
    assert_int_equal(syn_ll2string(buf, 9223372036854775807LL), 19);
    assert_string_equal(buf, "9223372036854775807");
    uint64_t x = 99;
    for (int i = 0; i < 2000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        long long v = (long long)(x >> (i % 64)) * ((i & 1) ? -1 : 1);
        size_t n = syn_ll2string(buf, v);
        assert_int_equal(n, strlen(buf));
        long long back = 0;
        if (!syn_string2ll(buf, n, &back) || back != v) fail_msg("%lld -> \"%s\"", v, buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32c_known_vectors),        cmocka_unit_test(crc32c_is_incremental),
        cmocka_unit_test(crc32c_portable_path_agrees), cmocka_unit_test(string2ll_follows_redis),
        cmocka_unit_test(ll2string_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
