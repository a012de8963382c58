/* log.c — readable log lines on stderr, in Redis's shape. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

void syn_log(int level, const char *fmt, ...)
{
    static const char marks[] = {'.', '*', '#'};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
    /* one write per line: lines of concurrent nodes sharing a terminal do not interleave */
    char line[1200];
    int n = snprintf(line, sizeof(line), "%d:M %s.%03d %c %s\n", (int)getpid(), when,
                     (int)(tv.tv_usec / 1000),
                     marks[level < 0   ? 0
                           : level > 2 ? 2
                                       : level],
                     msg);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line)) n = (int)sizeof(line) - 1;
    /* a failed log write has nowhere to be reported */
    (void)!write(STDERR_FILENO, line, (size_t)n);
}
