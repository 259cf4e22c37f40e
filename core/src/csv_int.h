/* Metron core (private): locale-independent number and time scanning for the
 * HIOKI text-export reader (csv.c). Exposed to the tests so that rounding and
 * edge cases can be checked directly. */
#ifndef MT_CSV_INT_H
#define MT_CSV_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mt/types.h"

/* A scanned decimal: value = (neg ? -1 : 1) * mant * 10^exp10, exactly,
 * unless "dropped" says significant digits beyond the 19th were not kept
 * (then the value is only approximated and the slow path is used). */
typedef struct {
    uint64_t mant;
    int32_t exp10;
    uint8_t neg;
    uint8_t dropped;
    char mark; /* the fractional mark seen ('.' or ','), 0 if none */
} mt__dec;

/* Scan all of "p" ("n" bytes, no surrounding spaces) as
 *   [+-] digits [mark digits] [(e|E) [+-] digits]
 * with at least one mantissa digit; "mark" is '.' or, when "allow_comma",
 * also ','. Returns 1 and fills "d" on success, 0 when "p" is not exactly
 * such a number. Exponents are clamped to +-100000 (the result is then 0 or
 * infinite anyway). */
int mt__csv_scan_dec(const char *p, size_t n, int allow_comma, mt__dec *d);

/* The double nearest to the scanned number (correctly rounded): exact fast
 * path for up to 2^53 mantissas and |exp10| <= 22, otherwise strtod() on a
 * normalised copy of digits and exponent that contains no decimal point
 * (so the C library's locale never matters). "p"/"n" is the scanned text. */
double mt__csv_dec_to_double(const mt__dec *d, const char *p, size_t n);

/* The scanned number of seconds as microseconds, rounded half away from
 * zero. Returns 1, or 0 when it does not fit mt_time. */
int mt__csv_dec_to_us(const mt__dec *d, const char *p, size_t n, mt_time *us);

/* Parse a relative clock time "[-]h:mm:ss[(.|,)f]" (h up to 9 digits,
 * mm and ss 00..59, f up to 9 digits, truncated to microseconds) into
 * microseconds. Returns 1, or 0 when "p" is not exactly such a time. */
int mt__csv_parse_clock(const char *p, size_t n, mt_time *us);

/* Parse a date-time "YY-MM-DD hh:mm:ss[(.|,)f]": year of 2 digits
 * (2000-2099) or 4 digits, '-' or '/' between date parts, one or more
 * spaces or one 'T' before the time, fraction up to 9 digits truncated to
 * microseconds. Returns 1 and the microseconds since the epoch of that
 * wall-clock time read as UTC, or 0 when "p" is not exactly such a value or
 * a field is out of range (month 13, 31 April, 24:00:00, ...). */
int mt__csv_parse_datetime(const char *p, size_t n, mt_time *us);

#endif
