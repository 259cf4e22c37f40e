/* Number and time scanning for the HIOKI text-export reader.
 *
 * strtod() follows the process locale and the files may use ',' as decimal
 * mark, so numbers are scanned here. Typical logger numbers ("+1.23456E+00")
 * have short mantissas and small exponents, which Clinger's fast path
 * converts exactly with one multiplication or division of two exactly
 * representable doubles. Everything else goes to strtod() on a copy written
 * as "[-]DIGITSe[-]EXP" with no decimal point, which every locale reads the
 * same way, and which strtod() rounds correctly. */
#include "csv_int.h"
#include "civil_int.h"

#include <stdlib.h>

#define MANT_DIGITS 19 /* 10^19 - 1 fits in uint64_t */
#define EXP_CLAMP 100000

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t pow10_u64[20] = {1u,
                                       10u,
                                       100u,
                                       1000u,
                                       10000u,
                                       100000u,
                                       1000000u,
                                       10000000u,
                                       100000000u,
                                       1000000000u,
                                       10000000000u,
                                       100000000000u,
                                       1000000000000u,
                                       10000000000000u,
                                       100000000000000u,
                                       1000000000000000u,
                                       10000000000000000u,
                                       100000000000000000u,
                                       1000000000000000000u,
                                       10000000000000000000u};

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

int mt__csv_scan_dec(const char *p, size_t n, int allow_comma, mt__dec *d)
{
    size_t i = 0;
    int n_kept = 0, n_digits = 0;
    int32_t exp10 = 0;
    d->mant = 0;
    d->exp10 = 0;
    d->neg = 0;
    d->dropped = 0;
    d->mark = 0;
    if (i < n && (p[i] == '+' || p[i] == '-')) {
        d->neg = p[i] == '-';
        i++;
    }
    for (; i < n && is_digit(p[i]); i++) {
        n_digits++;
        if (d->mant == 0 && p[i] == '0') {
            continue; /* leading zeros carry no information */
        }
        if (n_kept < MANT_DIGITS) {
            d->mant = d->mant * 10 + (uint64_t)(p[i] - '0');
            n_kept++;
        } else {
            if (exp10 < EXP_CLAMP) {
                exp10++;
            }
            if (p[i] != '0') {
                d->dropped = 1;
            }
        }
    }
    if (i < n && (p[i] == '.' || (allow_comma && p[i] == ','))) {
        d->mark = p[i];
        for (i++; i < n && is_digit(p[i]); i++) {
            n_digits++;
            if (d->mant == 0 && p[i] == '0') {
                if (exp10 > -EXP_CLAMP) {
                    exp10--;
                }
                continue;
            }
            if (n_kept < MANT_DIGITS) {
                d->mant = d->mant * 10 + (uint64_t)(p[i] - '0');
                n_kept++;
                if (exp10 > -EXP_CLAMP) {
                    exp10--;
                }
            } else if (p[i] != '0') {
                d->dropped = 1;
            }
        }
    }
    if (n_digits == 0) {
        return 0;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        int eneg = 0, e_digits = 0;
        int32_t e = 0;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) {
            eneg = p[i] == '-';
            i++;
        }
        for (; i < n && is_digit(p[i]); i++) {
            e_digits++;
            if (e < EXP_CLAMP) {
                e = e * 10 + (p[i] - '0');
            }
        }
        if (e_digits == 0) {
            return 0;
        }
        exp10 += eneg ? -e : e;
        if (exp10 > EXP_CLAMP) {
            exp10 = EXP_CLAMP;
        } else if (exp10 < -EXP_CLAMP) {
            exp10 = -EXP_CLAMP;
        }
    }
    if (i != n) {
        return 0;
    }
    d->exp10 = d->mant == 0 ? 0 : exp10;
    return 1;
}

/* strtod() on "[-]DIGITSe<exp>" rebuilt from the token: every digit of the
 * mantissa (all of them, so rounding stays correct when more than 19 were
 * given) and the exponent adjusted for the digits after the mark. */
static double slow_to_double(const mt__dec *d, const char *p, size_t n)
{
    char tmp[64 + 2 * 255];
    size_t i = 0, k = 0;
    long exp_adj = 0, exp_val = 0;
    int in_frac = 0, eneg = 0;
    if (n > 2 * 255) {
        n = 2 * 255; /* callers cap tokens at MT_CSV_MAX_NUMBER; be safe anyway */
    }
    if (d->neg) {
        tmp[k++] = '-';
    }
    if (i < n && (p[i] == '+' || p[i] == '-')) {
        i++;
    }
    for (; i < n && p[i] != 'e' && p[i] != 'E'; i++) {
        if (is_digit(p[i])) {
            tmp[k++] = p[i];
            if (in_frac) {
                exp_adj--;
            }
        } else {
            in_frac = 1; /* the mark */
        }
    }
    if (i < n) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) {
            eneg = p[i] == '-';
            i++;
        }
        for (; i < n; i++) {
            if (exp_val < EXP_CLAMP) {
                exp_val = exp_val * 10 + (p[i] - '0');
            }
        }
    }
    exp_val = (eneg ? -exp_val : exp_val) + exp_adj;
    tmp[k++] = 'e';
    if (exp_val < 0) {
        tmp[k++] = '-';
        exp_val = -exp_val;
    }
    {
        char rev[16];
        int r = 0;
        do {
            rev[r++] = (char)('0' + exp_val % 10);
            exp_val /= 10;
        } while (exp_val > 0 && r < 15);
        while (r > 0) {
            tmp[k++] = rev[--r];
        }
    }
    tmp[k] = '\0';
    return strtod(tmp, NULL);
}

double mt__csv_dec_to_double(const mt__dec *d, const char *p, size_t n)
{
    double v;
    if (d->mant == 0) {
        return d->neg ? -0.0 : 0.0;
    }
    if (!d->dropped && d->mant <= (UINT64_C(1) << 53) && d->exp10 >= -22 && d->exp10 <= 22) {
        v = (double)d->mant;
        v = d->exp10 < 0 ? v / pow10_exact[-d->exp10] : v * pow10_exact[d->exp10];
        return d->neg ? -v : v;
    }
    return slow_to_double(d, p, n);
}

int mt__csv_dec_to_us(const mt__dec *d, const char *p, size_t n, mt_time *us)
{
    int32_t k = d->exp10 + 6;
    uint64_t q = d->mant;
    if (d->dropped) {
        /* More than 19 significant digits: a double is as exact as the
         * microsecond result can be anyway. */
        double v = mt__csv_dec_to_double(d, p, n) * 1e6;
        if (!(v > -9.2e18 && v < 9.2e18)) {
            return 0;
        }
        *us = (mt_time)(v < 0 ? v - 0.5 : v + 0.5);
        return 1;
    }
    if (q == 0) {
        *us = 0;
        return 1;
    }
    if (k >= 0) {
        for (; k > 0; k--) {
            if (q > (uint64_t)INT64_MAX / 10) {
                return 0;
            }
            q *= 10;
        }
    } else if (k < -19) {
        q = 0;
    } else {
        uint64_t div = pow10_u64[-k], r = q % div;
        q /= div;
        if (r >= div - r) {
            q++; /* half away from zero */
        }
    }
    if (q > (uint64_t)INT64_MAX) {
        return 0;
    }
    *us = d->neg ? -(mt_time)q : (mt_time)q;
    return 1;
}

/* Read 1..max_digits digits at p[*i]; 0 when there are none. */
static int read_uint(const char *p, size_t n, size_t *i, int max_digits, int64_t *out, int *nd)
{
    int64_t v = 0;
    int k = 0;
    while (*i < n && is_digit(p[*i]) && k < max_digits) {
        v = v * 10 + (p[*i] - '0');
        (*i)++;
        k++;
    }
    if (nd) {
        *nd = k;
    }
    *out = v;
    return k > 0;
}

/* Optional "(.|,)digits" fraction, truncated to microseconds. */
static int read_frac_us(const char *p, size_t n, size_t *i, int64_t *us)
{
    int k = 0;
    int64_t v = 0;
    *us = 0;
    if (*i >= n || (p[*i] != '.' && p[*i] != ',')) {
        return 1;
    }
    (*i)++;
    while (*i < n && is_digit(p[*i])) {
        if (k < 6) {
            v = v * 10 + (p[*i] - '0');
        }
        k++;
        (*i)++;
    }
    if (k == 0 || k > 9) {
        return 0;
    }
    for (; k < 6; k++) {
        v *= 10;
    }
    *us = v;
    return 1;
}

/* "hh:mm:ss" with exactly two digits for mm and ss; hour digits up to
 * "max_h_digits". */
static int read_hms(const char *p, size_t n, size_t *i, int max_h_digits, int64_t *h, int64_t *mi,
                    int64_t *s)
{
    int nd;
    if (!read_uint(p, n, i, max_h_digits, h, NULL) || *i >= n || p[*i] != ':') {
        return 0;
    }
    (*i)++;
    if (!read_uint(p, n, i, 2, mi, &nd) || nd != 2 || *i >= n || p[*i] != ':') {
        return 0;
    }
    (*i)++;
    if (!read_uint(p, n, i, 2, s, &nd) || nd != 2) {
        return 0;
    }
    return *mi < 60 && *s < 60;
}

int mt__csv_parse_clock(const char *p, size_t n, mt_time *us)
{
    size_t i = 0;
    int neg = 0;
    int64_t h, mi, s, f;
    if (i < n && (p[i] == '-' || p[i] == '+')) {
        neg = p[i] == '-';
        i++;
    }
    if (!read_hms(p, n, &i, 9, &h, &mi, &s) || !read_frac_us(p, n, &i, &f) || i != n) {
        return 0;
    }
    *us = ((h * 60 + mi) * 60 + s) * MT_US_PER_S + f;
    if (neg) {
        *us = -*us;
    }
    return 1;
}

static int days_in_month(int64_t y, int64_t m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }
    return dim[m - 1];
}

int mt__csv_parse_datetime(const char *p, size_t n, mt_time *us)
{
    size_t i = 0;
    int nd, nd2;
    int64_t y, mo, d, h, mi, s, f;
    char sep;
    if (!read_uint(p, n, &i, 4, &y, &nd) || (nd != 2 && nd != 4) || i >= n ||
        (p[i] != '-' && p[i] != '/')) {
        return 0;
    }
    if (nd == 2) {
        y += 2000;
    }
    sep = p[i++];
    if (!read_uint(p, n, &i, 2, &mo, NULL) || i >= n || p[i] != sep) {
        return 0;
    }
    i++;
    if (!read_uint(p, n, &i, 2, &d, &nd2) || i >= n) {
        return 0;
    }
    if (p[i] == 'T') {
        i++;
    } else if (p[i] == ' ') {
        while (i < n && p[i] == ' ') {
            i++;
        }
    } else {
        return 0;
    }
    if (!read_hms(p, n, &i, 2, &h, &mi, &s) || !read_frac_us(p, n, &i, &f) || i != n) {
        return 0;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23) {
        return 0;
    }
    *us = (mt__days_from_civil(y, mo, d) * 86400 + (h * 60 + mi) * 60 + s) * MT_US_PER_S + f;
    return 1;
}
