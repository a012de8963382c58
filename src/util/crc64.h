/* crc64.h — CRC-64 with the Jones polynomial (0xad93d23594c935a9, reflected, initial value 0, no
 * final xor): the checksum Redis puts in RDB files and DUMP payloads, so DUMP/RESTORE payloads
 * move between redis-server and synod. */
#ifndef SYNOD_UTIL_CRC64_H
#define SYNOD_UTIL_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 to start) over `len` bytes at `data`.
 * crc64_jones(0, "123456789", 9) == 0xe9c6d914c4b8d9ca (Redis's own test vector). */
uint64_t crc64_jones(uint64_t crc, const void *data, size_t len);

#endif
