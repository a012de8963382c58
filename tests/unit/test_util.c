/* test_util.c — shared utilities: CRC-32C (both paths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/crc32c.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32c_known_vectors),
        cmocka_unit_test(crc32c_is_incremental),
        cmocka_unit_test(crc32c_portable_path_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
