/* crc32c.h — CRC-32C (Castagnoli), the checksum of WAL records, snapshots and peer frames. */
#ifndef SYNOD_UTIL_CRC32C_H
#define SYNOD_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 to start) over `len` bytes at `data`. crc32c(0, "123456789", 9) == 0xE3069283.
 */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The same checksum by the portable table-driven path alone, whatever the CPU offers (crc32c uses
 * the SSE4.2 instruction where there is one): for tests, which check the two agree, since nodes
 * on different CPUs check each other's frames and a data directory may move between machines. */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
