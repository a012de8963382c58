/* geohash.c — geohash cells, neighbours, distances and the cells a search scans (geo_internal.h).
 *
 * Compatibility note: replies must match Redis 7.0 byte for byte, and positions are printed with
 * 17 decimals, so each formula below evaluates its floating-point operations in the same order
 * as Redis's (a different but algebraically equal order changes the last bits). The search
 * covers the shape with the 3x3 block of cells around the centre at a cell size estimated from
 * the radius, as Redis does, so the candidates (and the order they are found in, which is the
 * reply order without ASC/DESC) are Redis's. */
#include <math.h>

#include "data/data_internal.h"
#include "data/geo_internal.h"

#define DEG_TO_RAD   (M_PI / 180.0)
#define MERCATOR_MAX 20037726.37 /* half the equator in Web Mercator metres */

static const geo_range lon_wgs = {GEO_LON_MIN, GEO_LON_MAX};
static const geo_range lat_wgs = {GEO_LAT_MIN, GEO_LAT_MAX};

/* 32 bits to the even bits of 64: each round moves the upper half of every group up by half
 * the group's width. */
static uint64_t spread(uint32_t v)
{
    uint64_t x = v;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0Full;
    x = (x | (x << 2)) & 0x3333333333333333ull;
    x = (x | (x << 1)) & 0x5555555555555555ull;
    return x;
}

/* The inverse: the even bits of x packed into 32. */
static uint32_t squash(uint64_t x)
{
    x &= 0x5555555555555555ull;
    x = (x | (x >> 1)) & 0x3333333333333333ull;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0Full;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFull;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFull;
    return (uint32_t)x;
}

uint64_t geo_interleave(uint32_t lat, uint32_t lon)
{
    return spread(lat) | (spread(lon) << 1);
}

void geo_deinterleave(uint64_t bits, uint32_t *lat, uint32_t *lon)
{
    *lat = squash(bits);
    *lon = squash(bits >> 1);
}

int geo_encode(geo_range lon_r, geo_range lat_r, double lon, double lat, int step, geo_hash *out)
{
    if (step < 1 || step > 32) return 0;
    if (lon > GEO_LON_MAX || lon < GEO_LON_MIN || lat > GEO_LAT_MAX || lat < GEO_LAT_MIN) return 0;
    if (lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max) return 0;
    double cells = (double)(1ull << step);
    double flat = (lat - lat_r.min) / (lat_r.max - lat_r.min) * cells;
    double flon = (lon - lon_r.min) / (lon_r.max - lon_r.min) * cells;
    /* flat, flon are in [0, 2^step]: the top edge is one past the last cell, as in Redis */
    out->bits = geo_interleave((uint32_t)flat, (uint32_t)flon);
    out->step = step;
    return 1;
}

geo_area geo_decode(geo_range lon_r, geo_range lat_r, geo_hash h)
{
    uint32_t ilat, ilon;
    geo_deinterleave(h.bits, &ilat, &ilon);
    double cells = (double)(1ull << h.step);
    double lat_span = lat_r.max - lat_r.min, lon_span = lon_r.max - lon_r.min;
    /* the "+ 1" wraps in 32 bits for an all-ones index, as Redis's does */
    uint32_t ilat1 = ilat + 1u, ilon1 = ilon + 1u;
    geo_area a;
    a.lat.min = lat_r.min + (ilat * 1.0 / cells) * lat_span;
    a.lat.max = lat_r.min + (ilat1 * 1.0 / cells) * lat_span;
    a.lon.min = lon_r.min + (ilon * 1.0 / cells) * lon_span;
    a.lon.max = lon_r.min + (ilon1 * 1.0 / cells) * lon_span;
    return a;
}

uint64_t geo_score_bits_of(double lon, double lat)
{
    geo_hash h = {0, 0};
    if (!geo_encode(lon_wgs, lat_wgs, lon, lat, GEO_STEP_MAX, &h)) return 0;
    return h.bits;
}

uint64_t geo_score_bits(double score)
{
    const double two63 = 9223372036854775808.0;
    if (score >= two63) {
        double t = score - two63;
        /* cvttsd2si of an out-of-range value is 1 << 63; Redis's cast then flips that bit */
        return t < two63 ? (uint64_t)(int64_t)t ^ (1ull << 63) : 0;
    }
    if (score >= -two63) return (uint64_t)(int64_t)score;
    return 1ull << 63; /* below -2^63, -inf */
}

void geo_score_lonlat(double score, double xy[2])
{
    geo_hash h = {geo_score_bits(score), GEO_STEP_MAX};
    geo_area a = geo_decode(lon_wgs, lat_wgs, h);
    xy[0] = (a.lon.min + a.lon.max) / 2;
    if (xy[0] > GEO_LON_MAX) xy[0] = GEO_LON_MAX;
    if (xy[0] < GEO_LON_MIN) xy[0] = GEO_LON_MIN;
    xy[1] = (a.lat.min + a.lat.max) / 2;
    if (xy[1] > GEO_LAT_MAX) xy[1] = GEO_LAT_MAX;
    if (xy[1] < GEO_LAT_MIN) xy[1] = GEO_LAT_MIN;
}

double geo_lat_distance(double lat1, double lat2)
{
    return GEO_EARTH_RADIUS_M * fabs(lat2 * DEG_TO_RAD - lat1 * DEG_TO_RAD);
}

double geo_distance(double lon1, double lat1, double lon2, double lat2)
{
    double lon1r = lon1 * DEG_TO_RAD, lon2r = lon2 * DEG_TO_RAD;
    double v = sin((lon2r - lon1r) / 2);
    /* same meridian: the haversine reduces to the latitude difference */
    if (v == 0.0) return geo_lat_distance(lat1, lat2);
    double lat1r = lat1 * DEG_TO_RAD, lat2r = lat2 * DEG_TO_RAD;
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(a));
}

/* One coordinate of a cell moved by d (+1 / -1) cells, wrapping around. `lane` selects the
 * coordinate's bits; the other lane's bits are filled with ones for an increment (so the carry
 * crosses them) and with zeros for a decrement (so the borrow does). */
static uint64_t lane_move(uint64_t bits, uint64_t lane, int step, int d)
{
    uint64_t width = step >= 32 ? ~0ull : (1ull << (2 * step)) - 1;
    uint64_t own = lane & width, gaps = ~lane & width;
    uint64_t one = own & (~own + 1); /* lowest bit of the lane */
    uint64_t v = bits & own;
    v = d > 0 ? (v | gaps) + one : v - one;
    /* the moved coordinate is cut to the cell's width (a position on the top edge has a bit
     * beyond it); the other keeps all its bits, as in Redis */
    return (bits & ~lane) | (v & own);
}

#define LAT_LANE 0x5555555555555555ull
#define LON_LANE 0xAAAAAAAAAAAAAAAAull

static geo_hash moved(geo_hash h, int dlon, int dlat)
{
    if (dlon) h.bits = lane_move(h.bits, LON_LANE, h.step, dlon);
    if (dlat) h.bits = lane_move(h.bits, LAT_LANE, h.step, dlat);
    return h;
}

void geo_neighbours(geo_hash h, geo_hash out[8])
{
    out[0] = moved(h, 0, 1);   /* N */
    out[1] = moved(h, 0, -1);  /* S */
    out[2] = moved(h, 1, 0);   /* E */
    out[3] = moved(h, -1, 0);  /* W */
    out[4] = moved(h, 1, 1);   /* NE */
    out[5] = moved(h, -1, 1);  /* NW */
    out[6] = moved(h, 1, -1);  /* SE */
    out[7] = moved(h, -1, -1); /* SW */
}

int geo_step_for_radius(double radius_m, double lat)
{
    if (radius_m == 0) return GEO_STEP_MAX;
    /* the step at which a cell is about as wide as the radius, two coarser for margin */
    int step = 1;
    while (radius_m < MERCATOR_MAX) {
        radius_m *= 2;
        step++;
    }
    step -= 2;
    /* meridians converge towards the poles: coarser cells there */
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > GEO_STEP_MAX) step = GEO_STEP_MAX;
    return step;
}

void geo_bounds(const geo_shape *s, double b[4])
{
    double lon = s->xy[0], lat = s->xy[1];
    double half_h = s->to_m * (s->box ? s->height / 2 : s->radius);
    double half_w = s->to_m * (s->box ? s->width / 2 : s->radius);
    double dlat = (half_h / GEO_EARTH_RADIUS_M) / DEG_TO_RAD;
    /* a parallel is shorter on the side nearer the pole: take the wider longitude span */
    double dlon_top = (half_w / GEO_EARTH_RADIUS_M / cos((lat + dlat) * DEG_TO_RAD)) / DEG_TO_RAD;
    double dlon_bottom =
        (half_w / GEO_EARTH_RADIUS_M / cos((lat - dlat) * DEG_TO_RAD)) / DEG_TO_RAD;
    double dlon = lat < 0 ? dlon_bottom : dlon_top;
    b[0] = lon - dlon;
    b[2] = lon + dlon;
    b[1] = lat - dlat;
    b[3] = lat + dlat;
}

void geo_cover(const geo_shape *s, geo_hash cells[9])
{
    double b[4];
    geo_bounds(s, b);
    double reach_m = s->box
                         ? sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2))
                         : s->radius;
    reach_m *= s->to_m;
    int step = geo_step_for_radius(reach_m, s->xy[1]);
    geo_hash h, n[8];
    (void)geo_encode(lon_wgs, lat_wgs, s->xy[0], s->xy[1], step, &h);
    geo_neighbours(h, n);
    /* a box hugging the edge of the centre cell may reach past the neighbours: one step
     * coarser then */
    geo_area north = geo_decode(lon_wgs, lat_wgs, n[0]), south = geo_decode(lon_wgs, lat_wgs, n[1]);
    geo_area east = geo_decode(lon_wgs, lat_wgs, n[2]), west = geo_decode(lon_wgs, lat_wgs, n[3]);
    int coarser =
        north.lat.max < b[3] || south.lat.min > b[1] || east.lon.max < b[2] || west.lon.min > b[0];
    if (step > 1 && coarser) {
        step--;
        (void)geo_encode(lon_wgs, lat_wgs, s->xy[0], s->xy[1], step, &h);
        geo_neighbours(h, n);
    }
    geo_area a = geo_decode(lon_wgs, lat_wgs, h);
    const geo_hash none = {0, 0};
    if (step >= 2) { /* drop the rows and columns the bounding box does not reach */
        if (a.lat.min < b[1]) n[1] = n[7] = n[6] = none;
        if (a.lat.max > b[3]) n[0] = n[4] = n[5] = none;
        if (a.lon.min < b[0]) n[3] = n[7] = n[5] = none;
        if (a.lon.max > b[2]) n[2] = n[6] = n[4] = none;
    }
    cells[0] = h;
    for (int i = 0; i < 8; i++)
        cells[i + 1] = n[i];
}

void geo_cell_scores(geo_hash h, uint64_t *min, uint64_t *max)
{
    int shift = 2 * (GEO_STEP_MAX - h.step);
    *min = h.bits << shift;
    *max = (h.bits + 1) << shift;
}

int geo_in_shape(const geo_shape *s, const double xy[2], double *dist)
{
    if (!s->box) {
        *dist = geo_distance(s->xy[0], s->xy[1], xy[0], xy[1]);
        return !(*dist > s->radius * s->to_m);
    }
    double w_m = s->width * s->to_m, h_m = s->height * s->to_m;
    /* latitude first: the cheaper test */
    if (geo_lat_distance(xy[1], s->xy[1]) > h_m / 2) return 0;
    if (geo_distance(xy[0], xy[1], s->xy[0], xy[1]) > w_m / 2) return 0;
    *dist = geo_distance(s->xy[0], s->xy[1], xy[0], xy[1]);
    return 1;
}

void geo_hash_string(double score, char out[11])
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    double xy[2];
    geo_score_lonlat(score, xy);
    const geo_range lon_std = {-180, 180}, lat_std = {-90, 90};
    geo_hash h = {0, GEO_STEP_MAX};
    (void)geo_encode(lon_std, lat_std, xy[0], xy[1], GEO_STEP_MAX, &h);
    /* 52 bits make 10 characters and 2 bits; the 11th character is always '0', as Redis's */
    for (int i = 0; i < 10; i++)
        out[i] = alphabet[(h.bits >> (52 - (i + 1) * 5)) & 0x1f];
    out[10] = alphabet[0];
}

size_t geo_fmt_distance(char *buf, size_t cap, double d)
{
    long long v = llrint(d * 10000.0); /* rounding half to even, as Redis's fixed-point print */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    int n = snprintf(buf, cap, "%s%llu.%04llu", v < 0 ? "-" : "", u / 10000, u % 10000);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
