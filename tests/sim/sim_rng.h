/* sim_rng.h — the simulator's only source of randomness: xoshiro256** seeded by splitmix64.
 * Same seed => same sequence, on every platform. */
#ifndef SYNOD_SIM_RNG_H
#define SYNOD_SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} sim_rng;

static inline uint64_t sim_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_splitmix64(&seed);
}

static inline uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, n); n > 0. The tiny modulo bias does not matter for a test generator. */
static inline uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    return sim_rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static inline int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)sim_rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* True with probability per_million / 1e6. */
static inline bool sim_rng_chance(sim_rng *r, uint32_t per_million)
{
    return sim_rng_below(r, 1000000) < per_million;
}

#endif
