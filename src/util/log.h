/* log.h — readable log lines on stderr, in Redis's shape: "pid:M 29 Nov 2026 06:55:00.123 * msg".
 * One write per line, so the lines of nodes sharing a terminal do not interleave. */
#ifndef SYNOD_UTIL_LOG_H
#define SYNOD_UTIL_LOG_H

enum { SYN_LOG_DEBUG, SYN_LOG_INFO, SYN_LOG_WARN };
void syn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
