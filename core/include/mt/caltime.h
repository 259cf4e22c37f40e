/* Metron core: civil-calendar arithmetic in UTC (proleptic Gregorian).
 *
 * Licence rules (mt/licence.h) reason in calendar dates: expiry dates are
 * decided in UTC (FEATURES L1), plan changes are "once a month", retention is
 * "one year". Core cannot use the C library's time functions (they depend on
 * the host's time zone and differ between libc and Emscripten), so this is a
 * small self-contained calendar: Howard Hinnant's days_from_civil and
 * civil_from_days (http://howardhinnant.github.io/date_algorithms.html),
 * weekdays, month addition with month-end clamping, and strict 'YYYY-MM-DD'.
 *
 * A date is an mt_day: the number of days since 1970-01-01 (day 0, a
 * Thursday). Supported dates are 0001-01-01 .. 9999-12-31, the years that
 * 'YYYY-MM-DD' can spell; functions that could leave that range return
 * MT_ERANGE. Every function is pure and thread-safe. */
#ifndef MT_CALTIME_H
#define MT_CALTIME_H

#include <stddef.h>
#include <stdint.h>

#include "mt/status.h"
#include "mt/types.h"

typedef int32_t mt_day;

/* 0001-01-01 and 9999-12-31 as mt_day. */
#define MT_DAY_MIN ((mt_day)-719162)
#define MT_DAY_MAX ((mt_day)2932896)

/* Bytes needed by mt_cal_format_date() ('YYYY-MM-DD' and the NUL) and by
 * mt_cal_format_instant() ('YYYY-MM-DDTHH:MM:SSZ' and the NUL). */
#define MT_CAL_DATE_LEN 11
#define MT_CAL_INSTANT_LEN 21

/* ISO weekdays as returned by mt_cal_weekday(). */
#define MT_MONDAY 1
#define MT_SUNDAY 7

/* 1 when "year" is a Gregorian leap year, else 0. */
int mt_cal_is_leap(int year);

/* Days in "month" (1..12) of "year": 28..31; 0 when "month" is out of range. */
int mt_cal_days_in_month(int year, int month);

/* The mt_day of the civil date "year"-"month"-"dom". Returns MT_OK and sets
 * *out, or MT_EINVAL (month not 1..12, day not in that month, e.g.
 * 2025-02-30) or MT_ERANGE (year not 1..9999) with a message in "err" (may be
 * NULL); *out is left unchanged on failure. */
MT_MUSTCHECK mt_status mt_cal_from_civil(int year, int month, int dom, mt_day *out,
                                         mt_error *err);

/* The civil date of "day" into *year, *month (1..12) and *dom (1..31). Exact
 * for any mt_day (also outside MT_DAY_MIN..MT_DAY_MAX). Never fails. */
void mt_cal_to_civil(mt_day day, int *year, int *month, int *dom);

/* The ISO weekday of "day": 1 = Monday .. 7 = Sunday. */
int mt_cal_weekday(mt_day day);

/* The date "months" calendar months after "day" (before it when negative),
 * with the day of month clamped to the end of the target month:
 * 2025-01-31 + 1 = 2025-02-28, 2024-01-31 + 1 = 2024-02-29,
 * 2024-02-29 + 12 = 2025-02-28, 2025-03-31 - 1 = 2025-02-28.
 * Returns MT_OK, or MT_ERANGE when "day" or the result is outside
 * MT_DAY_MIN..MT_DAY_MAX (*out unchanged). */
MT_MUSTCHECK mt_status mt_cal_add_months(mt_day day, int months, mt_day *out, mt_error *err);

/* Parse the NUL-terminated string "s" as exactly 'YYYY-MM-DD' (four-digit
 * year 0001..9999, two-digit month and day, '-' separators, nothing before or
 * after). Returns MT_OK and sets *out, or MT_EINVAL with err->pos at the
 * offending byte and a message naming the problem ("2025-02-30": "day 30 is
 * not in 2025-02 (28 days)"). "s" NULL is MT_EINVAL. */
MT_MUSTCHECK mt_status mt_cal_parse_date(const char *s, mt_day *out, mt_error *err);

/* Write "day" as 'YYYY-MM-DD' and a NUL into "buf" of "cap" bytes. Returns
 * MT_OK, MT_ENOSPACE when cap < MT_CAL_DATE_LEN, or MT_ERANGE when "day" is
 * outside MT_DAY_MIN..MT_DAY_MAX. */
MT_MUSTCHECK mt_status mt_cal_format_date(mt_day day, char *buf, size_t cap, mt_error *err);

/* Write instant "t" as 'YYYY-MM-DDTHH:MM:SSZ' (UTC; sub-second part dropped
 * towards the past) into "buf" of "cap" bytes. MT_ENOSPACE when
 * cap < MT_CAL_INSTANT_LEN, MT_ERANGE when the date is outside the range. */
MT_MUSTCHECK mt_status mt_cal_format_instant(mt_time t, char *buf, size_t cap, mt_error *err);

/* The instant 00:00:00 UTC at the start of "day". */
mt_time mt_cal_day_start(mt_day day);

/* The UTC date containing instant "t" (floor: instants before 1970 belong to
 * the earlier day). Returns MT_OK, or MT_ERANGE when that date is outside
 * MT_DAY_MIN..MT_DAY_MAX (*out unchanged). */
MT_MUSTCHECK mt_status mt_cal_day_of(mt_time t, mt_day *out, mt_error *err);

#endif
