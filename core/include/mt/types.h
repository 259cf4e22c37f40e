/* Metron core: shared plain-data types — time and special values.
 *
 * Time: an instant is an int64 count of microseconds since 1970-01-01T00:00Z
 * (mt_time), the resolution of PostgreSQL's timestamptz.
 *
 * Special values: a sample is a double. Instruments also report states that
 * are not numbers — no data, over range either way, a broken sensor — and
 * arithmetic can fail (x/0, SQR of a negative). These are stored in the
 * double itself as quiet NaNs whose low byte names the kind, so one array
 * carries numbers and states. Never compare them with ==; use mt_sv_kind().
 * Arithmetic on NaNs does not reliably keep payloads (WebAssembly may
 * canonicalise them), so core code that computes always re-derives the kind
 * explicitly; it never relies on NaN propagation. */
#ifndef MT_TYPES_H
#define MT_TYPES_H

#include <stdint.h>
#include <string.h>

typedef int64_t mt_time;

#define MT_US_PER_MS INT64_C(1000)
#define MT_US_PER_S INT64_C(1000000)
#define MT_US_PER_MIN (INT64_C(60) * MT_US_PER_S)
#define MT_US_PER_DAY (INT64_C(86400) * MT_US_PER_S)

/* Kinds of special value. MT_SV_NONE is an ordinary finite number. The
 * numeric codes are part of the HOK/HOK2 formats: never renumber. */
typedef enum {
    MT_SV_NONE = 0,
    MT_SV_MISSING = 1,   /* no sample: gap, channel off, not yet measured */
    MT_SV_OVER_POS = 2,  /* above the measuring range (+OVER) */
    MT_SV_OVER_NEG = 3,  /* below the measuring range (-OVER) */
    MT_SV_BREAK = 4,     /* sensor/thermocouple break (burn-out) */
    MT_SV_ERROR = 5      /* computation error: x/0, SQR(negative), other NaN */
} mt_sv;

#define MT_SV_COUNT 6
#define MT__SV_BITS UINT64_C(0x7FF8000000000000)

/* The double that carries special kind "k" (k != MT_SV_NONE). */
static inline double mt_sv_value(mt_sv k)
{
    uint64_t bits = MT__SV_BITS | (uint64_t)k;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* The kind of "v": MT_SV_NONE for a finite number; the encoded kind for one
 * of our NaNs; +inf/-inf are MT_SV_OVER_POS/MT_SV_OVER_NEG; any other NaN is
 * MT_SV_ERROR. */
static inline mt_sv mt_sv_kind(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits & UINT64_C(0x7FF0000000000000)) != UINT64_C(0x7FF0000000000000)) {
        return MT_SV_NONE;
    }
    if ((bits & UINT64_C(0x000FFFFFFFFFFFFF)) == 0) {
        return (bits >> 63) ? MT_SV_OVER_NEG : MT_SV_OVER_POS;
    }
    if ((bits & ~UINT64_C(0xFF)) == MT__SV_BITS) {
        uint64_t k = bits & 0xFF;
        if (k >= 1 && k < MT_SV_COUNT) {
            return (mt_sv)k;
        }
    }
    return MT_SV_ERROR;
}

/* True when "v" is an ordinary finite number. */
static inline int mt_sv_is_number(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (bits & UINT64_C(0x7FF0000000000000)) != UINT64_C(0x7FF0000000000000);
}

/* "missing", "+over", "-over", "break", "error", or "" for MT_SV_NONE. */
const char *mt_sv_name(mt_sv k);

#endif
