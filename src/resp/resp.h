/* resp.h — incremental RESP2/RESP3 request parser and reply encoder. libc only.
 *
 * Parser: requests arrive in arbitrary fragments. The caller appends received bytes to its
 * own input buffer and calls resp_parse on the unconsumed part; the parser keeps its progress
 * in resp_parser so a request split over many reads is never re-scanned from the start
 * (a multi-megabyte bulk arriving in 16 KB pieces costs O(n), not O(n^2)).
 *
 * Both forms Redis accepts are parsed, with Redis 7.0's exact rules (docs/resp.md lists them):
 * multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline (`GET k\r\n`, as telnet sends, with
 * sdssplitargs quoting). Limits follow Redis's defaults and are configurable:
 * proto-max-bulk-len (512 MB) and INT_MAX multibulk elements; count lines and inline requests
 * end within 64 KB of their start. A huge declared count or length allocates nothing up front,
 * and a pending multibulk costs the parser O(1): its arguments are counted as they arrive and
 * located only once the request is complete, so the bytes received (the caller's buffer) are
 * all the memory an unfinished request holds. Allocation failure is an error, never an abort. A
 * protocol error carries the exact Redis error text (e.g. "ERR Protocol error: invalid bulk
 * length"); the server replies with it and closes the connection, as Redis does. The result never
 * depends on how the input was fragmented.
 *
 * Encoder: appends RESP to a growable byte buffer (resp_buf), byte-identical to Redis 7.0. */
#ifndef SYNOD_RESP_H
#define SYNOD_RESP_H

#include <stddef.h>
#include <stdint.h>

#define RESP_DEFAULT_MAX_BULK_LEN      (512ll * 1024 * 1024)
#define RESP_DEFAULT_MAX_MULTIBULK_LEN 2147483647ll /* INT_MAX, as Redis 7.0 */
#define RESP_MAX_INLINE_LEN            (64 * 1024)  /* PROTO_INLINE_MAX_SIZE */

typedef struct {
    const char *ptr; /* multibulk: into the caller's buffer; inline: parser storage */
    size_t len;
} resp_arg;

typedef struct {
    long long max_bulk_len;      /* proto-max-bulk-len; clamped to [0, LLONG_MAX/2] */
    long long max_multibulk_len; /* elements per request; clamped to [0, INT_MAX] */
} resp_limits;

typedef struct resp_parser resp_parser;

enum {
    RESP_OK = 0,         /* a complete request is in argv/argc */
    RESP_INCOMPLETE = 1, /* need more bytes; everything so far is kept */
    RESP_ERROR = -1,     /* protocol error; resp_parser_error() has the reply text */
    RESP_NOMEM = -2,     /* out of memory; the parser is in error state: drop the client */
};

/* NULL limits = Redis defaults. Returns NULL if out of memory. */
resp_parser *resp_parser_create(const resp_limits *limits);
void resp_parser_destroy(resp_parser *p); /* NULL is a no-op */
/* Applies to every count line parsed after the call. */
void resp_parser_set_limits(resp_parser *p, const resp_limits *limits);

/* Parses at most one request from buf[0..len), which must start at the first byte of a
 * request (the unconsumed part of the caller's input).
 * RESP_OK: *consumed (> 0) is the bytes the request used; *argv and *argc are its arguments. The
 *   resp_arg array is owned by the parser; each ptr points into buf (multibulk) or into parser
 *   storage (inline). Both stay valid until the caller changes buf's consumed bytes or calls
 *   resp_parse again. argc may be 0: an empty inline line, `*0` or `*-1` (skip it, as Redis).
 * RESP_INCOMPLETE: *consumed is 0; call again with the same bytes (at the same or a new
 *   address) plus more. Passing fewer bytes than last time is a bug (asserted).
 * RESP_ERROR: *consumed is 0; resp_parser_error() has the reply; the parser stays in error
 *   (every later call returns RESP_ERROR) — close the connection after replying.
 * RESP_NOMEM: an allocation failed (argument array or inline storage); *consumed is 0, the
 *   parser stays in error (later calls return RESP_ERROR) — close the connection.
 * Never allocates in proportion to a declared length, only to bytes received; the argument
 * array of a complete request is allocated when it completes (16 bytes per argument). */
int resp_parse(resp_parser *p, const char *buf, size_t len, size_t *consumed, resp_arg **argv,
               int *argc);
/* "ERR Protocol error: ..." after RESP_ERROR (no leading '-', no CRLF; for resp_add_error),
 * NULL otherwise. Owned by the parser. */
const char *resp_parser_error(const resp_parser *p);
/* Bytes beyond the last call's `len` that the pending request certainly still needs (the rest
 * of a bulk payload plus its CRLF; a hint for buffer growth); 0 if unknown. */
size_t resp_parser_need(const resp_parser *p);
/* Heap bytes the parser holds (argument arrays and inline storage), for memory accounting. */
size_t resp_parser_mem_bytes(const resp_parser *p);

/* Growable output buffer. Invariant: len <= cap; data is NULL iff cap == 0.
 * Out of memory: a buffer initialised with resp_buf_init aborts (its users, e.g. log entries,
 * cannot continue with a partial buffer); one initialised with resp_buf_init_soft (a client's
 * replies) instead sets `failed` and drops that append and every later one until
 * resp_buf_deinit, so its owner can notice and drop the client. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    unsigned char soft;   /* allocation failure sets `failed` instead of aborting */
    unsigned char failed; /* sticky: an append was dropped for lack of memory */
} resp_buf;

void resp_buf_init(resp_buf *b);
void resp_buf_init_soft(resp_buf *b);
void resp_buf_deinit(resp_buf *b); /* frees data; b is empty (and stays soft if it was) */
/* Room for `extra` more bytes. Returns 0, or -1 if a soft buffer could not grow (failed). */
int resp_buf_reserve(resp_buf *b, size_t extra);
void resp_buf_consume(resp_buf *b, size_t n);                 /* drops n bytes from the front */
void resp_buf_append(resp_buf *b, const void *p, size_t len); /* raw bytes, e.g. pre-encoded */

/* Encoders. `proto` is 2 or 3: the type that differs by protocol is encoded as that
 * protocol's client expects (null, map, set, double, bool, verbatim, push). */
void resp_add_status(resp_buf *b, const char *s, size_t len); /* +s; CR/LF become spaces */
void resp_add_error(resp_buf *b, const char *s, size_t len);  /* s without the leading '-';
                                                                 CR/LF become spaces */
void resp_add_int(resp_buf *b, long long v);
void resp_add_bulk(resp_buf *b, const char *p, size_t len);
void resp_add_null(resp_buf *b, int proto);       /* $-1 / _ */
void resp_add_null_array(resp_buf *b, int proto); /* *-1 / _ */
void resp_add_array(resp_buf *b, size_t n);
void resp_add_map(resp_buf *b, size_t n_pairs, int proto); /* %n / *2n */
void resp_add_set(resp_buf *b, size_t n, int proto);       /* ~n / *n */
/* ,v / bulk "v": printf "%.17g" (1.1 is "1.1000000000000001"; NaN is "nan" or "-nan" as
 * printf spells it, like Redis 7.0), infinities "inf" / "-inf" */
void resp_add_double(resp_buf *b, double v, int proto);
/* ,s / bulk "s": a double the caller formatted (GEOPOS's Redis "human" long double text) */
void resp_add_double_text(resp_buf *b, const char *s, size_t len, int proto);
void resp_add_bool(resp_buf *b, int v, int proto);                         /* #t / :1 */
void resp_add_verbatim(resp_buf *b, const char *p, size_t len, int proto); /* =txt: / bulk */
void resp_add_push(resp_buf *b, size_t n, int proto);                      /* >n / *n */

/* Redis 7.0's text for a double as resp_add_double writes it; out has room for
 * RESP_DOUBLE_STR_MAX bytes. Returns the length (NUL-terminated). */
#define RESP_DOUBLE_STR_MAX 40
size_t resp_format_double(char *out, size_t size, double v);

#endif
