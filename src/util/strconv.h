/* strconv.h — integer <-> decimal string conversions with Redis's exact rules (string2ll,
 * ll2string), shared by the RESP parser, the data layer and the server. */
#ifndef SYNOD_UTIL_STRCONV_H
#define SYNOD_UTIL_STRCONV_H

#include <stddef.h>

/* Redis string2ll: the whole of s[0..len) must be an optional '-' and decimal digits, with no
 * '+', no spaces, no leading zeros (except "0"), no "-0", fewer than 21 bytes, within the range
 * of long long. Returns 1 and sets *out, or 0 (and leaves *out alone). */
int syn_string2ll(const char *s, size_t len, long long *out);

/* Writes v in decimal to buf (at least 21 bytes), NUL-terminated; returns the length. */
size_t syn_ll2string(char *buf, long long v);

#endif
