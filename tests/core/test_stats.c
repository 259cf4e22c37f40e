/* Tests of core/src/stats.c: unhappy paths first, a worked example, then
 * random data against a one-bucket decimation (min, max, their times, the
 * counts) and a long-double mean, whatever the cut into calls. */
#include <stdint.h>
#include <stdlib.h>

#include "../t.h"
#include "mt/decimate.h"
#include "mt/stats.h"
#include "mt/types.h"

static uint64_t rng_state = 0x243F6A8885A308D3u;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, the same native and in wasm */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static void stats_rejects_bad_arguments_and_disorder(void)
{
    mt_stats s;
    mt_error err;
    mt_time t[4] = {10, 20, 15, 30};
    double v[4] = {1, 2, 3, 4};
    mt_stats_init(&s);
    T_EQ_INT(mt_stats_add(NULL, t, v, 1, &err), MT_EINVAL);
    T_EQ_INT(mt_stats_add(&s, NULL, v, 1, &err), MT_EINVAL);
    T_EQ_INT(mt_stats_add(&s, t, NULL, 1, &err), MT_EINVAL);
    T_EQ_INT(mt_stats_add(&s, NULL, NULL, 0, &err), MT_OK);
    T_EQ_INT(mt_stats_add(&s, t, v, 4, &err), MT_EORDER);
    T_EQ_INT(err.pos, 2);
    /* A refused call changed nothing. */
    T_EQ_U64(s.n, 0);
    T_EQ_U64(s.n_rows, 0);
    T_OK(mt_stats_add(&s, t, v, 2, &err));
    /* Order holds across calls: 15 after 20 is refused. */
    T_EQ_INT(mt_stats_add(&s, t + 2, v + 2, 2, &err), MT_EORDER);
    T_EQ_INT(err.pos, 0);
    T_EQ_U64(s.n, 2);
    /* Equal times are allowed. */
    T_OK(mt_stats_add(&s, t + 1, v + 1, 1, &err));
    T_EQ_U64(s.n, 3);
}

static void stats_by_hand(void)
{
    mt_stats s;
    mt_error err;
    mt_time t[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    double v[8] = {5, -1, 7, mt_sv_value(MT_SV_OVER_POS), -1, 7, mt_sv_value(MT_SV_BREAK),
                   mt_sv_value(MT_SV_BREAK)};
    mt_stats_init(&s);
    T_TRUE(mt_sv_kind(s.min) == MT_SV_MISSING);
    T_TRUE(mt_sv_kind(mt_stats_mean(&s)) == MT_SV_MISSING);
    T_OK(mt_stats_add(&s, t, v, 8, &err));
    T_EQ_U64(s.n, 5);
    T_EQ_U64(s.n_rows, 8);
    T_SAME_DOUBLE(s.min, -1.0);
    T_EQ_INT(s.t_min, 2); /* the first occurrence */
    T_SAME_DOUBLE(s.max, 7.0);
    T_EQ_INT(s.t_max, 3);
    T_SAME_DOUBLE(mt_stats_mean(&s), 17.0 / 5);
    T_EQ_U64(s.n_special[MT_SV_OVER_POS], 1);
    T_EQ_U64(s.n_special[MT_SV_BREAK], 2);
    T_EQ_U64(s.n_special[MT_SV_NONE], 0);
    T_EQ_U64(mt_stats_special_total(&s), 3);
}

static void stats_mean_is_compensated(void)
{
    /* 1e16 + 1 + 1 - 1e16: a naive sum gives 0 (each +1 is lost), the
     * compensated sum 2; the mean is 0.5. */
    mt_stats s;
    mt_error err;
    mt_time t[4] = {1, 2, 3, 4};
    double v[4] = {1e16, 1, 1, -1e16};
    mt_stats_init(&s);
    T_OK(mt_stats_add(&s, t, v, 4, &err));
    T_SAME_DOUBLE(mt_stats_mean(&s), 0.5);
}

static void stats_match_one_bucket_decimation_on_random_data(void)
{
    enum { N = 20000 };
    mt_time *t = malloc(N * sizeof *t);
    double *v = malloc(N * sizeof *v);
    mt_bucket b;
    mt_error err;
    T_TRUE(t != NULL && v != NULL);
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + (size_t)(rnd() % N);
        long double exact = 0;
        mt_stats whole, parts;
        mt_time cur = (mt_time)(rnd() % 1000000) - 500000;
        uint64_t n_special = 0, n_num = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd();
            cur += (mt_time)(r % 3 == 0 ? 0 : r % 5000); /* equal times too */
            t[i] = cur;
            if (r % 100 < 7) {
                v[i] = mt_sv_value((mt_sv)(1 + (r >> 8) % 5));
                n_special++;
            } else {
                /* few distinct values: many ties for the first-occurrence rule */
                v[i] = (double)((int64_t)((r >> 16) % 2001) - 1000) / 100.0;
                exact += (long double)v[i];
                n_num++;
            }
        }
        mt_stats_init(&whole);
        T_OK(mt_stats_add(&whole, t, v, n, &err));
        /* The same samples cut into random calls give the same bits. */
        mt_stats_init(&parts);
        for (size_t off = 0; off < n;) {
            size_t k = 1 + (size_t)(rnd() % 700);
            if (k > n - off) {
                k = n - off;
            }
            T_OK(mt_stats_add(&parts, t + off, v + off, k, &err));
            off += k;
        }
        T_TRUE(memcmp(&whole, &parts, sizeof whole) == 0);
        T_OK(mt_decimate_minmax(t, v, n, t[0], t[n - 1] + 1, 1, &b, &err));
        T_EQ_U64(whole.n, b.n);
        T_EQ_U64(whole.n, n_num);
        T_EQ_U64(mt_stats_special_total(&whole), b.n_special);
        T_EQ_U64(mt_stats_special_total(&whole), n_special);
        T_SAME_DOUBLE(whole.min, b.min);
        T_SAME_DOUBLE(whole.max, b.max);
        if (b.n > 0) {
            T_EQ_INT(whole.t_min, b.t_min);
            T_EQ_INT(whole.t_max, b.t_max);
            T_NEAR(mt_stats_mean(&whole), (double)(exact / (long double)n_num), 1e-12);
        }
    }
    free(t);
    free(v);
}

void suite_stats(void)
{
    T_RUN(stats_rejects_bad_arguments_and_disorder);
    T_RUN(stats_by_hand);
    T_RUN(stats_mean_is_compensated);
    T_RUN(stats_match_one_bucket_decimation_on_random_data);
}
