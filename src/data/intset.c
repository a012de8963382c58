/* intset.c — the compact encoding of small integer sets: distinct int64 kept sorted in one
 * allocation, each stored in the narrowest width (2, 4 or 8 bytes) that fits every member.
 * Adding a member that needs a wider width rewrites the array once in the new width (Redis's
 * intset upgrade); the width never shrinks. Lookups are binary searches. */
#include "data/set_internal.h"
#include "util/assert.h"

struct intset {
    uint32_t width; /* 2, 4 or 8: bytes per member */
    uint32_t n;
    unsigned char v[]; /* n members, ascending, native byte order */
};

static uint32_t width_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

static int64_t get_w(const intset *is, uint32_t w, uint32_t i)
{
    const unsigned char *p = is->v + (size_t)i * w;
    if (w == 2) {
        int16_t x;
        memcpy(&x, p, 2);
        return x;
    }
    if (w == 4) {
        int32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    int64_t x;
    memcpy(&x, p, 8);
    return x;
}

static void set_w(intset *is, uint32_t w, uint32_t i, int64_t v)
{
    unsigned char *p = is->v + (size_t)i * w;
    if (w == 2) {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
    } else if (w == 4) {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

intset *intset_new(size_t *mem)
{
    intset *is = dmem_alloc(mem, sizeof *is);
    is->width = 2;
    is->n = 0;
    return is;
}

uint32_t intset_len(const intset *is)
{
    return is->n;
}

int64_t intset_get(const intset *is, uint32_t i)
{
    SYN_ASSERT_CMP(i, <, is->n);
    return get_w(is, is->width, i);
}

uint32_t intset_width(const intset *is)
{
    return is->width;
}

size_t intset_bytes(const intset *is)
{
    return sizeof *is + (size_t)is->n * is->width;
}

/* Index of v, or of where it would be inserted; *found tells which. */
static uint32_t search(const intset *is, int64_t v, int *found)
{
    uint32_t lo = 0, hi = is->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t x = get_w(is, is->width, mid);
        if (x == v) {
            *found = 1;
            return mid;
        }
        if (x < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

int intset_find(const intset *is, int64_t v)
{
    int found;
    if (width_for(v) > is->width) return 0;
    (void)search(is, v, &found);
    return found;
}

intset *intset_add(size_t *mem, intset *is, int64_t v, int *done)
{
    *done = 0;
    uint32_t w = width_for(v);
    SYN_ASSERT(is->n < UINT32_MAX);
    if (w > is->width) {
        /* v lies outside every current member's range: it goes first or last */
        uint32_t old = is->width, n = is->n;
        is = dmem_realloc(mem, is, sizeof *is + (size_t)(n + 1) * w);
        int at_front = v < 0;
        for (uint32_t i = n; i-- > 0;)
            set_w(is, w, i + (uint32_t)at_front, get_w(is, old, i));
        set_w(is, w, at_front ? 0 : n, v);
        is->width = w;
        is->n = n + 1;
        *done = 1;
        return is;
    }
    int found;
    uint32_t at = search(is, v, &found);
    if (found) return is;
    is = dmem_realloc(mem, is, sizeof *is + (size_t)(is->n + 1) * is->width);
    memmove(is->v + (size_t)(at + 1) * is->width, is->v + (size_t)at * is->width,
            (size_t)(is->n - at) * is->width);
    set_w(is, is->width, at, v);
    is->n++;
    *done = 1;
    return is;
}

intset *intset_remove(size_t *mem, intset *is, int64_t v, int *done)
{
    *done = 0;
    if (width_for(v) > is->width) return is;
    int found;
    uint32_t at = search(is, v, &found);
    if (!found) return is;
    memmove(is->v + (size_t)at * is->width, is->v + (size_t)(at + 1) * is->width,
            (size_t)(is->n - at - 1) * is->width);
    is->n--;
    *done = 1;
    return dmem_realloc(mem, is, sizeof *is + (size_t)is->n * is->width);
}
