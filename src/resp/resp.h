/* resp.h — incremental RESP2/RESP3 request parser and reply encoder. libc only.
 *
 * Parser: requests arrive in arbitrary fragments. The caller appends received bytes to its
 * own input buffer and calls resp_parse on the unconsumed part; the parser keeps its progress
 * in resp_parser so a request split over many reads is never re-scanned from the start
 * (a multi-megabyte bulk arriving in 16 KB pieces costs O(n), not O(n^2)).
 *
 * Both forms Redis accepts are parsed: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
 * (`GET k\r\n`, as telnet sends, with Redis's quoting rules). Limits follow Redis's defaults
 * and are configurable: proto-max-bulk-len (512 MB), at most 1024*1024*1024 multibulk
 * elements, inline requests at most 64 KB. A protocol error carries the exact Redis error
 * text (e.g. "ERR Protocol error: invalid bulk length"); the server replies with it and
 * closes the connection, as Redis does.
 *
 * Encoder: appends RESP to a growable byte buffer (resp_buf). */
#ifndef SYNOD_RESP_H
#define SYNOD_RESP_H

#include <stddef.h>
#include <stdint.h>

#define RESP_DEFAULT_MAX_BULK_LEN      (512ll * 1024 * 1024)
#define RESP_DEFAULT_MAX_MULTIBULK_LEN (1024ll * 1024 * 1024)
#define RESP_MAX_INLINE_LEN            (64 * 1024)

typedef struct {
    const char *ptr; /* into the caller's buffer; inline args with quotes/escapes: parser storage */
    size_t len;
} resp_arg;

typedef struct {
    long long max_bulk_len;      /* proto-max-bulk-len */
    long long max_multibulk_len; /* elements per request */
} resp_limits;

typedef struct resp_parser resp_parser;

enum {
    RESP_OK = 0,         /* a complete request is in argv/argc */
    RESP_INCOMPLETE = 1, /* need more bytes; everything so far is kept */
    RESP_ERROR = -1,     /* protocol error; resp_parser_error() has the reply text */
};

resp_parser *resp_parser_create(const resp_limits *limits); /* NULL limits = Redis defaults */
void resp_parser_destroy(resp_parser *p);
void resp_parser_set_limits(resp_parser *p, const resp_limits *limits);

/* Parses at most one request from buf[0..len). On RESP_OK sets *consumed to the bytes the
 * request used, and *argv/*argc to its arguments: the resp_arg array is owned by the parser,
 * and each ptr points into buf; both stay valid until the caller changes buf's consumed bytes
 * or calls resp_parse again. On RESP_INCOMPLETE, *consumed is 0 and the caller must call again
 * with the same bytes (at the same or a new address) plus more. An empty inline line yields
 * RESP_OK with argc 0 (the caller skips it). */
int resp_parse(resp_parser *p, const char *buf, size_t len, size_t *consumed, resp_arg **argv,
               int *argc);
const char *resp_parser_error(const resp_parser *p); /* e.g. "ERR Protocol error: ..." */
/* Bytes the parser knows the pending request still needs (a hint for buffer growth); 0 if
 * unknown. */
size_t resp_parser_need(const resp_parser *p);

/* Growable output buffer. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} resp_buf;

void resp_buf_init(resp_buf *b);
void resp_buf_deinit(resp_buf *b);
void resp_buf_reserve(resp_buf *b, size_t extra); /* aborts on out-of-memory */
void resp_buf_consume(resp_buf *b, size_t n);     /* drops n bytes from the front */

/* Encoders. `proto` is 2 or 3: the type that differs by protocol is encoded as that
 * protocol's client expects (null, map, set, double, bool, verbatim). */
void resp_add_status(resp_buf *b, const char *s, size_t len);
void resp_add_error(resp_buf *b, const char *s, size_t len); /* s without the leading '-' */
void resp_add_int(resp_buf *b, long long v);
void resp_add_bulk(resp_buf *b, const char *p, size_t len);
void resp_add_null(resp_buf *b, int proto);       /* $-1 / _ */
void resp_add_null_array(resp_buf *b, int proto); /* *-1 / _ */
void resp_add_array(resp_buf *b, size_t n);
void resp_add_map(resp_buf *b, size_t n_pairs, int proto); /* %n / *2n */
void resp_add_set(resp_buf *b, size_t n, int proto);       /* ~n / *n */
void resp_add_double(resp_buf *b, double v, int proto);    /* ,v / bulk "v" (Redis format) */
void resp_add_bool(resp_buf *b, int v, int proto);         /* #t / :1 */
void resp_add_verbatim(resp_buf *b, const char *p, size_t len, int proto); /* =txt: / bulk */
void resp_add_push(resp_buf *b, size_t n, int proto);                      /* >n / *n */

#endif
