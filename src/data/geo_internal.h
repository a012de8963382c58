/* geo_internal.h — the geohash arithmetic behind the GEO commands (geo.c), exposed for the unit
 * test. A position is kept as Redis 7.0 keeps it: the score of a sorted set member, a 52-bit
 * integer interleaving 26 bits of latitude (even bits) and 26 bits of longitude (odd bits), each
 * the index of a cell of a uniform grid over longitude [-180, 180] and latitude
 * [-85.05112878, 85.05112878] (the Web Mercator limits). Every float operation follows the order
 * Redis uses, so decoded coordinates and distances come out bit for bit as Redis's. Pure
 * functions, no state. Not a public header. */
#ifndef SYNOD_GEO_INTERNAL_H
#define SYNOD_GEO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define GEO_STEP_MAX       26 /* bits per coordinate: 52 bits fit a double's mantissa */
#define GEO_LAT_MIN        -85.05112878
#define GEO_LAT_MAX        85.05112878
#define GEO_LON_MIN        -180.0
#define GEO_LON_MAX        180.0
#define GEO_EARTH_RADIUS_M 6372797.560856 /* Redis's mean Earth radius */

/* A cell: the top 2*step bits of a position. step == 0 marks "no cell". */
typedef struct {
    uint64_t bits;
    int step;
} geo_hash;

typedef struct {
    double min, max;
} geo_range;

typedef struct {
    geo_range lon, lat;
} geo_area;

/* Bit lanes: lat takes the even bits, lon the odd ones. */
uint64_t geo_interleave(uint32_t lat, uint32_t lon);
void geo_deinterleave(uint64_t bits, uint32_t *lat, uint32_t *lon);

/* The cell of (lon, lat) at `step` bits per coordinate (1..32) over the given ranges; 0 (and
 * nothing written) outside the ranges or outside the WGS84 limits above. */
int geo_encode(geo_range lon_r, geo_range lat_r, double lon, double lat, int step, geo_hash *out);
geo_area geo_decode(geo_range lon_r, geo_range lat_r, geo_hash h);
/* The 52-bit score of a valid position (GEOADD). */
uint64_t geo_score_bits_of(double lon, double lat);
/* The integer a score stands for, as Redis's (uint64_t) cast yields it on x86-64 for any finite
 * double (negative and huge scores included, so a position is defined for every member). */
uint64_t geo_score_bits(double score);
/* The position a score decodes to: its cell's centre, clamped to the limits. xy = {lon, lat}. */
void geo_score_lonlat(double score, double xy[2]);

/* Haversine distance in metres (Redis's formula, with its shortcut for equal longitudes). */
double geo_distance(double lon1, double lat1, double lon2, double lat2);
double geo_lat_distance(double lat1, double lat2);

/* The 8 neighbours of a cell (wrapping around): N S E W NE NW SE SW. */
void geo_neighbours(geo_hash h, geo_hash out[8]);

/* A search shape: centre, and a radius or a box (width, height), in `unit`s of `to_m` metres. */
typedef struct {
    double xy[2];
    int box;
    double radius, width, height;
    double to_m;
} geo_shape;

/* Cell size (bits per coordinate) Redis picks for a search reaching radius_m around lat. */
int geo_step_for_radius(double radius_m, double lat);
/* Bounding box of the shape: {min lon, min lat, max lon, max lat}. */
void geo_bounds(const geo_shape *s, double b[4]);
/* The cells to scan for a shape, in Redis's order (centre, N S E W NE NW SE SW); cells that
 * cannot hold a match have step 0. */
void geo_cover(const geo_shape *s, geo_hash cells[9]);
/* Score interval [min, max) of a cell's positions. */
void geo_cell_scores(geo_hash h, uint64_t *min, uint64_t *max);
/* 1 and *dist (metres from the centre) if the point is inside the shape. */
int geo_in_shape(const geo_shape *s, const double xy[2], double *dist);

/* GEOHASH's 11-character standard geohash (latitude over [-90, 90]) of a score. */
void geo_hash_string(double score, char out[11]);
/* A distance as Redis replies it: rounded to 4 decimals ("1.2346"); returns the length. */
size_t geo_fmt_distance(char *buf, size_t cap, double d);

#endif
