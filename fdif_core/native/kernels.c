/* Native CPU kernels of FDIF Studio (float32), loaded by fdif_core/native/__init__.py.
 *
 * Each kernel performs exactly the IEEE operations of its torch counterpart, in the same order,
 * so its results are bitwise the torch ones: products and sums round separately (the build
 * passes -ffp-contract=off) and torch's fused `addcmul` is `fmaf`. Functions whose torch
 * implementation is not correctly rounded (torch's float32 `sqrt` on the CPU is not) are left to
 * the caller.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CHUNK 256 /* points per pass over the edges: the working arrays stay in L1 */

static inline uint32_t float_bits(float v) { uint32_t u; memcpy(&u, &v, sizeof u); return u; }

static inline float unit_clamp(float t) /* torch.clamp(t, 0, 1) for non-NaN t */
{
    t = t < 0.0f ? 0.0f : t;
    return t > 1.0f ? 1.0f : t;
}

/* Squared distance to a simple polygon and the crossing parity, as
 * fdif_core.nodes.profiles._edge_by_edge computes them.
 *
 * edges: n_edges rows of (ax, ay, kx, ky, nex, ney, sey, nsex) (profiles.EDGE_KEYS);
 * sloped: per edge, whether it is not horizontal (only those count crossings).
 * best[i] gets min over edges of |p - closest point of the edge|^2 and sign[i] the crossing
 * count's parity in its sign bit (0x80000000 when odd: inside).
 */
void fdif_polygon_f32(const float *x, const float *y, int64_t n, const float *edges,
                      const int32_t *sloped, int32_t n_edges, float *best, int32_t *sign)
{
    uint32_t parity[CHUNK];
    for (int64_t start = 0; start < n; start += CHUNK) {
        const int64_t m = n - start < CHUNK ? n - start : CHUNK;
        const float *xs = x + start, *ys = y + start;
        float *bs = best + start;
        for (int64_t p = 0; p < m; ++p) {
            bs[p] = INFINITY;
            parity[p] = 0;
        }
        for (int32_t e = 0; e < n_edges; ++e) {
            const float *c = edges + 8 * e;
            const float ax = c[0], ay = c[1], kx = c[2], ky = c[3];
            const float nex = c[4], ney = c[5], sey = c[6], nsex = c[7];
            const float ay_next = edges[8 * ((e + 1) % n_edges) + 1];
            if (sloped[e]) {
                for (int64_t p = 0; p < m; ++p) {
                    const float below = ys[p] - ay, after = ys[p] - ay_next, wx = xs[p] - ax;
                    /* sign bits: y < a.y differs from y < b.y, and the side of the edge */
                    const float side = fmaf(below, nsex, wx * sey);
                    parity[p] ^= (float_bits(below) ^ float_bits(after)) & float_bits(side);
                    const float t = unit_clamp(fmaf(below, ky, wx * kx));
                    const float dx = fmaf(t, nex, wx), dy = fmaf(t, ney, below);
                    const float d2 = fmaf(dy, dy, dx * dx);
                    bs[p] = d2 < bs[p] ? d2 : bs[p];
                }
            } else {
                for (int64_t p = 0; p < m; ++p) {
                    const float below = ys[p] - ay, wx = xs[p] - ax;
                    const float t = unit_clamp(fmaf(below, ky, wx * kx));
                    const float dx = fmaf(t, nex, wx), dy = fmaf(t, ney, below);
                    const float d2 = fmaf(dy, dy, dx * dx);
                    bs[p] = d2 < bs[p] ? d2 : bs[p];
                }
            }
        }
        for (int64_t p = 0; p < m; ++p)
            sign[start + p] = (int32_t)(parity[p] & 0x80000000u);
    }
}

/* The voxels of 2-blocks, laid out (z offset, y offset, x offset, block) as in
 * fdif_core.domain.Domain._voxels: voxel k of block b is at
 * (oz[b] + kz, oy[b] + ky, ox[b] + kx) with k = (kz * 2 + ky) * 2 + kx, stored at k * m + b.
 * origins: three rows (z, y, x) of m entries, `stride` apart. */

/* Local coordinates q (3 rows of 8 m) as Domain._block_voxels gathers them from the per-axis
 * pair tables t? (6 rows of l? entries: row 2 i + k holds coordinate i of voxel p + k at p):
 * (x term + y term) + z term. */
void fdif_block_voxels_f32(const float *restrict tx, int64_t lx, const float *restrict ty,
                           int64_t ly, const float *restrict tz, int64_t lz,
                           const int64_t *restrict origins, int64_t stride, int64_t m,
                           float *restrict q)
{
    const int64_t *oz = origins, *oy = origins + stride, *ox = origins + 2 * stride;
    for (int i = 0; i < 3; ++i) {
        const float *x0 = tx + 2 * i * lx, *x1 = x0 + lx, *y0 = ty + 2 * i * ly, *y1 = y0 + ly;
        const float *z0 = tz + 2 * i * lz, *z1 = z0 + lz;
        float *out = q + 8 * i * m;
        for (int64_t b = 0; b < m; ++b) {
            const float a0 = x0[ox[b]], a1 = x1[ox[b]], b0 = y0[oy[b]], b1 = y1[oy[b]];
            const float c0 = z0[oz[b]], c1 = z1[oz[b]];
            const float s00 = a0 + b0, s01 = a1 + b0, s10 = a0 + b1, s11 = a1 + b1;
            out[b] = s00 + c0;          /* k = (kz * 2 + ky) * 2 + kx */
            out[m + b] = s01 + c0;
            out[2 * m + b] = s10 + c0;
            out[3 * m + b] = s11 + c0;
            out[4 * m + b] = s00 + c1;
            out[5 * m + b] = s01 + c1;
            out[6 * m + b] = s10 + c1;
            out[7 * m + b] = s11 + c1;
        }
    }
}

/* out = values + offset at each voxel's flat C-order position in a grid of (d, h, w) voxels
 * (`size` = d h w; positions past the grid, of blocks cut by its end, read its last voxel). */
void fdif_add_at_voxels_f32(const float *restrict values, const int64_t *restrict origins,
                            int64_t stride, int64_t m, int64_t h, int64_t w, int64_t size,
                            const float *restrict offset, float *restrict out)
{
    const int64_t *oz = origins, *oy = origins + stride, *ox = origins + 2 * stride;
    int64_t step[8];
    for (int k = 0; k < 8; ++k)
        step[k] = ((k >> 2) * h + ((k >> 1) & 1)) * w + (k & 1);
    for (int64_t b = 0; b < m; ++b) {
        const int64_t base = (oz[b] * h + oy[b]) * w + ox[b];
        const int inside = base + step[7] < size;
        for (int k = 0; k < 8; ++k) {
            const int64_t flat = base + step[k];
            out[k * m + b] = values[k * m + b] + offset[inside || flat < size ? flat : size - 1];
        }
    }
}

/* The voxels with value <= threshold inside box (z0, z1, y0, y1, x0, x1, half-open), in
 * layout order: their flat C-order positions and values. Returns how many. Branch-free: every
 * voxel is written, and the count moves past the kept ones. `base` (m entries) is scratch. */
int64_t fdif_keep_voxels_f32(const float *restrict values, const int64_t *restrict origins,
                             int64_t stride, int64_t m, int64_t h, int64_t w, float threshold,
                             const int64_t *restrict box, int64_t *restrict base,
                             int64_t *restrict flat, float *restrict kept)
{
    const int64_t *oz = origins, *oy = origins + stride, *ox = origins + 2 * stride;
    int whole = 1; /* every voxel of every block inside the box */
    for (int64_t b = 0; b < m; ++b) {
        base[b] = (oz[b] * h + oy[b]) * w + ox[b];
        whole &= (oz[b] >= box[0]) & (oz[b] + 1 < box[1]) & (oy[b] >= box[2])
                 & (oy[b] + 1 < box[3]) & (ox[b] >= box[4]) & (ox[b] + 1 < box[5]);
    }
    int64_t count = 0;
    for (int k = 0; k < 8; ++k) {
        const int kz = k >> 2, ky = (k >> 1) & 1, kx = k & 1;
        const int64_t step = (kz * h + ky) * w + kx;
        const float *v = values + k * m;
        if (whole) {
            for (int64_t b = 0; b < m; ++b) {
                flat[count] = base[b] + step;
                kept[count] = v[b];
                count += v[b] <= threshold;
            }
            continue;
        }
        for (int64_t b = 0; b < m; ++b) {
            const int64_t z = oz[b] + kz, y = oy[b] + ky, x = ox[b] + kx;
            flat[count] = base[b] + step;
            kept[count] = v[b];
            count += (v[b] <= threshold) & (z >= box[0]) & (z < box[1]) & (y >= box[2])
                     & (y < box[3]) & (x >= box[4]) & (x < box[5]);
        }
    }
    return count;
}

/* Local centres (float32, 3 rows of m) of blocks at voxel origins (z, y, x rows, `stride`
 * apart): c + B o in double, B and c the rows (B_z, B_y, B_x, c) of `affine` (3 x 4). They
 * feed bounds only, whose slack dwarfs any rounding (Domain._block_centres). */
void fdif_block_centres_f32(const double *restrict affine, const int64_t *restrict origins,
                            int64_t stride, int64_t m, float *restrict out)
{
    const int64_t *oz = origins, *oy = origins + stride, *ox = origins + 2 * stride;
    for (int i = 0; i < 3; ++i) {
        const double bz = affine[4 * i], by = affine[4 * i + 1], bx = affine[4 * i + 2];
        const double c = affine[4 * i + 3];
        float *row = out + i * m;
        for (int64_t b = 0; b < m; ++b)
            row[b] = (float)(c + bz * (double)oz[b] + by * (double)oy[b] + bx * (double)ox[b]);
    }
}

/* The blocks at origins (z, y, x rows of m, `stride` apart) whose lower bound is at most
 * the threshold (per block, `thresholds` with `threshold_step` 1, or one number with step
 * 0), as Domain.descend keeps them. With `child` > 0 each kept block is replaced by its eight
 * sub-blocks of `child` voxels (z, y, x offsets 0 or child, x fastest), without those that
 * start at or past `end` (z, y, x) when `end` is given. Writes rows of `capacity` entries to
 * `out` and returns how many. */
int64_t fdif_select_blocks(const float *restrict lower, const float *restrict thresholds,
                           int64_t threshold_step, const int64_t *restrict origins,
                           int64_t stride, int64_t m, int64_t child, const int64_t *restrict end,
                           int64_t *restrict out, int64_t capacity)
{
    const int64_t *oz = origins, *oy = origins + stride, *ox = origins + 2 * stride;
    int64_t *rz = out, *ry = out + capacity, *rx = out + 2 * capacity;
    int64_t count = 0;
    for (int64_t b = 0; b < m; ++b) {
        if (!(lower[b] <= thresholds[b * threshold_step]))
            continue;
        if (child == 0) {
            rz[count] = oz[b];
            ry[count] = oy[b];
            rx[count++] = ox[b];
            continue;
        }
        for (int k = 0; k < 8; ++k) {
            const int64_t z = oz[b] + (k >> 2) * child, y = oy[b] + ((k >> 1) & 1) * child;
            const int64_t x = ox[b] + (k & 1) * child;
            if (end && (z >= end[0] || y >= end[1] || x >= end[2]))
                continue;
            rz[count] = z;
            ry[count] = y;
            rx[count++] = x;
        }
    }
    return count;
}

/* The scaled cross-section's inputs of fdif_core.nodes.fdif.Extrude.perp: the scale
 * s(a) = (a + h) rise / length + one (cone: terms rise, h, length, one), or below and above a
 * neck (terms rise, h, below_length, one, neck, above_length, s2), clamped below at 1e-6; and
 * x / s, y / s. */
void fdif_extrude_scale_f32(const float *restrict x, const float *restrict y,
                            const float *restrict a, int64_t n, int32_t necked,
                            const float *restrict terms, float *restrict xs, float *restrict ys,
                            float *restrict s)
{
    const float rise = terms[0], h = terms[1], length = terms[2], one = terms[3];
    const float neck = necked ? terms[4] : 0.0f, above_length = necked ? terms[5] : 1.0f;
    const float s2 = necked ? terms[6] : 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        float v = (a[i] + h) * rise / length + one;
        if (necked) {
            const float above = (a[i] - neck) * rise / above_length + s2;
            v = a[i] < neck ? v : above;
        }
        v = v < 1e-6f ? 1e-6f : v;
        s[i] = v;
        xs[i] = x[i] / v;
        ys[i] = y[i] / v;
    }
}

/* The parts of Extrude.__call__ before its hypot: perp = s g (g where s is NULL), made a shell
 * |perp| - t when onioned; along = |a| - h. Writes max(perp, 0), max(along, 0) and
 * min(max(perp, along), 0) (f = hypot of the first two plus the third). */
void fdif_extrude_parts_f32(const float *restrict g, const float *restrict s,
                            const float *restrict a, int64_t n, int32_t onioned, float t, float h,
                            float *restrict perp_out, float *restrict along_out,
                            float *restrict inner)
{
    for (int64_t i = 0; i < n; ++i) {
        float perp = s ? s[i] * g[i] : g[i];
        if (onioned)
            perp = fabsf(perp) - t;
        const float along = fabsf(a[i]) - h;
        const float top = perp > along ? perp : along;
        inner[i] = top < 0.0f ? top : 0.0f;
        perp_out[i] = perp > 0.0f ? perp : 0.0f;
        along_out[i] = along > 0.0f ? along : 0.0f;
    }
}

/* The star fold of fdif_core.nodes.profiles.Star between its torch transcendentals:
 * phi = (phi - floor(phi / two_alpha) two_alpha) - alpha, in place. */
void fdif_star_fold_f32(float *restrict phi, int64_t n, float two_alpha, float alpha)
{
    for (int64_t i = 0; i < n; ++i)
        phi[i] = (phi[i] - floorf(phi[i] / two_alpha) * two_alpha) - alpha;
}

/* Then, from c = cos(phi), s = sin(phi) and the radius `length`: qx = c length - ux,
 * qy = |s| length - uy, k = clamp(-(qx ex + qy ey), 0, cap), q += k e. terms: ux, uy, ex, ey,
 * cap. */
void fdif_star_cap_f32(const float *restrict c, const float *restrict s,
                       const float *restrict length, int64_t n, const float *restrict terms,
                       float *restrict qx, float *restrict qy)
{
    const float ux = terms[0], uy = terms[1], ex = terms[2], ey = terms[3], cap = terms[4];
    for (int64_t i = 0; i < n; ++i) {
        const float x = c[i] * length[i] - ux, y = fabsf(s[i]) * length[i] - uy;
        float k = -(x * ex + y * ey);
        k = k < 0.0f ? 0.0f : k;
        k = k > cap ? cap : k;
        qx[i] = x + k * ex;
        qy[i] = y + k * ey;
    }
}
