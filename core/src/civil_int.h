/* Private to core: the one conversion from a proleptic Gregorian date to
 * days since 1970-01-01 (Howard Hinnant's days_from_civil), shared by the
 * calendar (licence_cal.c) and the CSV reader's time stamps (csv_num.c).
 * Inline, so that each module still builds alone (MT_ONLY). */
#ifndef MT_CIVIL_INT_H
#define MT_CIVIL_INT_H

#include <stdint.h>

/* Days since 1970-01-01 of year "y", month "m" (1..12), day "d", for a date
 * already validated. The year is shifted to start in March so that the
 * leap day is the last day of a "year"; eras are 400-year cycles of 146097
 * days. */
static inline int64_t mt__days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

#endif
