/* Fuzz target for decimate: random arrays, ranges, bucket counts and block
 * cuts. No crash, no hang, and mt_decimate_blocks() must give bit for bit
 * what mt_decimate_minmax() gives on the same samples.
 *
 * Input: 8 bytes of parameters (bucket count, range start and length, block
 * size, LTTB size, flags), then 3 bytes per sample: a time step and two value
 * bytes (one picks special kinds, signed zeros, extremes). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mt/decimate.h"

typedef struct {
    const mt_time *t;
    const double *v;
    const size_t *start;
} fctx;

static mt_status decode(void *ctx, size_t block, mt_time *t, double *v, size_t cap, size_t *n,
                        mt_error *err)
{
    const fctx *c = ctx;
    size_t len = c->start[block + 1] - c->start[block];
    if (len > cap) {
        return mt_fail(err, MT_ENOSPACE, block, "cap");
    }
    memcpy(t, c->t + c->start[block], len * sizeof *t);
    memcpy(v, c->v + c->start[block], len * sizeof *v);
    *n = len;
    return MT_OK;
}

static int same(const mt_bucket *a, const mt_bucket *b)
{
    return !memcmp(&a->min, &b->min, sizeof a->min) && !memcmp(&a->max, &b->max, sizeof a->max) &&
           !memcmp(&a->first, &b->first, sizeof a->first) &&
           !memcmp(&a->last, &b->last, sizeof a->last) && a->t_first == b->t_first &&
           a->t_last == b->t_last && a->t_min == b->t_min && a->t_max == b->t_max &&
           a->n == b->n && a->n_special == b->n_special && a->special == b->special;
}

static double value_of(uint8_t a, uint8_t b)
{
    switch (a % 16) {
    case 0:
        return mt_sv_value((mt_sv)(1 + b % 5));
    case 1:
        return (b & 1) ? HUGE_VAL : -HUGE_VAL;
    case 2:
        return (b & 1) ? 0.0 : -0.0;
    case 3:
        return (b & 1) ? 1.7976931348623157e308 : -1.7976931348623157e308;
    default:
        return (double)(int8_t)b * 0.25;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n, i, nb, block_max, n_blocks = 0, n_out, nd, len;
    mt_time *t = NULL, t0, t1, cur = 0;
    double *v = NULL;
    size_t *start = NULL, *idx = NULL;
    mt_block_summary *sums = NULL;
    mt_bucket *a = NULL, *b = NULL;
    mt_error err, err_l;
    mt_status sa, sb, sl;
    fctx c;
    int unsorted;

    if (size < 8) {
        return 0;
    }
    nb = 1 + (data[0] | (size_t)(data[1] & 0x0F) << 8);
    block_max = 1 + data[4] % 64;
    n_out = data[5];
    unsorted = data[6] & 1;
    n = (size - 8) / 3;
    t = malloc((n + 1) * sizeof *t);
    v = malloc((n + 1) * sizeof *v);
    start = malloc((n + 2) * sizeof *start);
    sums = malloc((n + 1) * sizeof *sums);
    idx = malloc((n_out + 1) * sizeof *idx);
    a = malloc(nb * sizeof *a);
    b = malloc(nb * sizeof *b);
    if (!t || !v || !start || !sums || !idx || !a || !b) {
        goto out;
    }
    for (i = 0; i < n; i++) {
        const uint8_t *p = data + 8 + 3 * i;
        cur += unsorted ? (int8_t)p[0] : p[0] % 8 * ((p[0] & 0x80) ? 1000 : 1);
        t[i] = cur;
        v[i] = value_of(p[1], p[2]);
    }
    t0 = (mt_time)(int8_t)data[2] * 10;
    t1 = t0 + 1 + (mt_time)data[3] * (data[7] & 0x80 ? 1000 : 10);
    if (data[7] & 0x40) {
        t0 = INT64_MIN + data[2];
        t1 = INT64_MAX - data[3];
    }

    sa = mt_decimate_minmax(t, v, n, t0, t1, nb, a, &err);
    sl = mt_decimate_lttb(t, v, n, n_out, idx, &len, &err_l);
    if (n_out >= 3) {
        /* the same order check, the same verdict */
        if ((sa == MT_OK) != (sl == MT_OK) || (sa == MT_EORDER && err.pos != err_l.pos)) {
            abort();
        }
    }
    if (sl == MT_OK) {
        size_t m = 0;
        for (i = 0; i < n; i++) {
            m += mt_sv_is_number(v[i]);
        }
        if (len != (m <= n_out ? m : n_out)) {
            abort();
        }
        for (i = 0; i < len; i++) {
            if (idx[i] >= n || !mt_sv_is_number(v[idx[i]]) || (i && idx[i] <= idx[i - 1])) {
                abort();
            }
        }
    }
    if (sa != MT_OK) {
        goto out; /* unsorted: blocks would be rejected for a different reason */
    }
    for (i = 0; i < n;) {
        size_t blen = 1 + (size_t)(data[8 + 3 * i] ^ data[8 + 3 * i + 2]) % block_max;
        if (blen > n - i) {
            blen = n - i;
        }
        start[n_blocks] = i;
        mt_block_summarize(t + i, v + i, blen, &sums[n_blocks]);
        n_blocks++;
        i += blen;
    }
    start[n_blocks] = n;
    c.t = t;
    c.v = v;
    c.start = start;
    sb = mt_decimate_blocks(sums, n_blocks, decode, &c, t0, t1, nb, b, &nd, &err);
    if (sb != MT_OK || nd > n_blocks) {
        abort();
    }
    for (i = 0; i < nb; i++) {
        if (!same(&a[i], &b[i])) {
            abort();
        }
    }
out:
    free(t);
    free(v);
    free(start);
    free(sums);
    free(idx);
    free(a);
    free(b);
    return 0;
}
