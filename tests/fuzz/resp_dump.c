/* resp_dump.c — prints how synod's RESP parser splits byte strings, for the differential test
 * against a real redis-server (tests/fuzz/resp_vs_redis.py).
 *
 * stdin: cases, each "<decimal length>\n<bytes>". stdout, per case: one line per request
 * "R <argc> <hex arg>,<hex arg>,...", then "E <hex error>" if the
 * parse failed, "P <pending bytes>" if the input ended inside a request, then "END". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp.h"

static void hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", (unsigned char)p[i]);
}

int main(void)
{
    size_t len;
    while (scanf("%zu", &len) == 1) {
        if (getchar() != '\n') return 2;
        char *buf = malloc(len ? len : 1);
        if (buf == NULL || fread(buf, 1, len, stdin) != len) return 2;
        resp_parser *p = resp_parser_create(NULL);
        if (p == NULL) return 2;
        size_t pos = 0;
        for (;;) {
            size_t used;
            resp_arg *argv;
            int argc;
            int r = resp_parse(p, buf + pos, len - pos, &used, &argv, &argc);
            if (r == RESP_OK) {
                printf("R %d ", argc);
                for (int i = 0; i < argc; i++) {
                    if (i) putchar(',');
                    hex(argv[i].ptr, argv[i].len);
                }
                putchar('\n');
                pos += used;
                continue;
            }
            if (r == RESP_ERROR) {
                const char *e = resp_parser_error(p);
                printf("E ");
                hex(e, strlen(e));
                putchar('\n');
            } else if (pos < len) {
                printf("P %zu\n", len - pos);
            }
            break;
        }
        printf("END\n");
        fflush(stdout);
        resp_parser_destroy(p);
        free(buf);
    }
    return 0;
}
