/* Metron core: licence rules (FEATURES L1..L6). docs/licence.md has the
 * decisions with worked examples; the short form is here.
 *
 * Dates. A licence expiry date is a calendar date decided in UTC (L1), an
 * mt_day (mt/caltime.h). The licence is valid through the whole UTC day of
 * its expiry date and lapses at 00:00 UTC of the day after, when the
 * account falls to Free (L3). "Today" is the UTC date of now. Remaining
 * days = expiry - today (0 on the expiry date itself).
 *
 * Every function is pure and thread-safe, and takes "today"/"now" from the
 * caller: core never reads a clock. */
#ifndef MT_LICENCE_H
#define MT_LICENCE_H

#include <stddef.h>
#include <stdint.h>

#include "mt/caltime.h"
#include "mt/plan.h"
#include "mt/status.h"
#include "mt/types.h"

#define MT_LICENCE_PRO_FACTOR 5     /* L2: Standard days = Pro days x 5 */
#define MT_LICENCE_CAP_MONTHS 13    /* L2: converted terms are capped at 13 months */
#define MT_LICENCE_TRIAL_DAYS 93    /* L4 */
#define MT_LICENCE_OVERQUOTA_DAYS 31 /* L3 */
#define MT_LICENCE_RETENTION_YEARS 1 /* L5, Free */
#define MT_LICENCE_MAX_DAYS 3660000 /* larger remaining-day counts are MT_ERANGE */

/* The result of converting a running licence between Standard and Pro. */
typedef struct {
    int64_t days;     /* remaining days on the new plan, after the cap */
    int64_t dropped;  /* days over the 13-month cap that were dropped (0 if none) */
    int64_t cap_days; /* the cap: days from "today" to today + 13 months */
    mt_day expiry;    /* the new expiry date: today + days */
} mt_licence_conversion;

/* Convert "remaining_days" of a running licence on plan "from" into days on
 * plan "to" (L2), on date "today":
 *   Pro -> Standard: days x 5;
 *   Standard -> Pro: days / 5 rounded to the nearest integer, halves away from
 *     zero (for whole days the fraction is .0/.2/.4/.6/.8, so a tie cannot
 *     happen: 8 -> 2 (1.6), 7 -> 1 (1.4), 2 -> 0 (0.4));
 * then capped at 13 calendar months from "today": at most the number of days
 * from today to mt_cal_add_months(today, 13) (395..397 days; month-end
 * clamped), the excess dropped. Returns MT_OK and fills *out; MT_EINVAL when
 * from/to are not Standard and Pro (in either order, different), or
 * remaining_days < 0; MT_ERANGE when remaining_days > MT_LICENCE_MAX_DAYS or
 * the dates leave the calendar. *out is unchanged on failure. */
MT_MUSTCHECK mt_status mt_licence_convert(mt_plan from, mt_plan to, int64_t remaining_days,
                                          mt_day today, mt_licence_conversion *out,
                                          mt_error *err);

/* The 13-month cap of mt_licence_convert() for "today", in days, into *out.
 * MT_ERANGE when today + 13 months leaves the calendar. */
MT_MUSTCHECK mt_status mt_licence_cap_days(mt_day today, int64_t *out, mt_error *err);

/* The plan may change at most once a month (L2): after a change on date
 * "last_change", the next change is allowed from the same day of the next
 * month, clamped to that month's end (2025-01-31 -> 2025-02-28,
 * 2024-01-31 -> 2024-02-29, 2025-03-15 -> 2025-04-15). Sets *next_allowed
 * (may be NULL) to that date and returns MT_OK when today >= it; MT_ELIMIT
 * when today is earlier, with the date in err->msg; MT_EINVAL when today <
 * last_change (a change in the future: bad input or clock); MT_ERANGE when a
 * date leaves the calendar. An account that never changed plan needs no
 * check. */
MT_MUSTCHECK mt_status mt_licence_check_plan_change(mt_day last_change, mt_day today,
                                                    mt_day *next_allowed, mt_error *err);

/* The instant a trial created at "created" expires (L4): created + 93 x 24 h.
 * From that instant login stops and the trial's data is deleted. MT_ERANGE
 * when it leaves the calendar. */
MT_MUSTCHECK mt_status mt_licence_trial_expiry(mt_time created, mt_time *out, mt_error *err);

/* The deletion deadline for an account over its storage quota (L3): the
 * contract holder is told at "notified"; at notified + 31 x 24 h, if still
 * over quota, all stored data is deleted. MT_ERANGE when out of range. */
MT_MUSTCHECK mt_status mt_licence_overquota_deadline(mt_time notified, mt_time *out,
                                                     mt_error *err);

/* The instant a licence with expiry date "expiry" lapses: 00:00 UTC of
 * expiry + 1 day. MT_ERANGE when that day is outside the calendar. */
MT_MUSTCHECK mt_status mt_licence_lapse(mt_day expiry, mt_time *out, mt_error *err);

/* The plan in force at "now" for an account licensed on "plan" until
 * "expiry" (L3): Standard and Pro fall to Free at mt_licence_lapse(expiry);
 * Trial and Free are returned unchanged ("expiry" ignored; trial expiry is
 * mt_licence_trial_expiry()). MT_EINVAL for an unknown plan, MT_ERANGE for
 * an expiry outside the calendar. */
MT_MUSTCHECK mt_status mt_licence_effective_plan(mt_plan plan, mt_day expiry, mt_time now,
                                                 mt_plan *out, mt_error *err);

/* Free retention (L5): data acquired on UTC date "acquired" is kept for one
 * year and may be deleted from date *out = the same month and day one year
 * later; data from 29 February is kept until 1 March (never less than a full
 * year: 2028-02-29 -> 2029-03-01). MT_ERANGE outside the calendar. */
MT_MUSTCHECK mt_status mt_licence_retention_end(mt_day acquired, mt_day *out, mt_error *err);

/* The inverse for a deletion job: on date "today", data acquired on a date
 * before *out has passed its retention (mt_licence_retention_end(d) <= today
 * exactly when d < *out). MT_ERANGE outside the calendar. */
MT_MUSTCHECK mt_status mt_licence_retention_cutoff(mt_day today, mt_day *out, mt_error *err);

/* Licence notices (L6). */
typedef enum {
    MT_NOTICE_MONTHLY = 1,     /* first Monday of a month, 3..1 months before */
    MT_NOTICE_WEEKLY = 2,      /* a Monday, 1 month .. 7 days before */
    MT_NOTICE_WEEK_BEFORE = 3, /* expiry - 7 days */
    MT_NOTICE_EXPIRY_DAY = 4,  /* the expiry date */
    MT_NOTICE_EXPIRED = 5      /* expiry + 1 day: the licence has expired */
} mt_notice_kind;

typedef struct {
    mt_time at;          /* the send instant: 00:00 UTC of "day" = 08:00 CST */
    mt_day day;          /* the date in UTC (and in China Standard Time) */
    mt_notice_kind kind; /* when two rules give the same day, the later rule */
} mt_licence_notice;

/* The most notices one expiry date can produce (3 monthly + 4 weekly + 3). */
#define MT_LICENCE_NOTICE_MAX 10

/* "monthly", "weekly", "week_before", "expiry_day", "expired"; NULL if invalid. */
const char *mt_notice_kind_name(mt_notice_kind kind);

/* The notice calendar for expiry date "expiry" (L6), sorted ascending with
 * one notice per day. Notices are sent at 08:00 China Standard Time (UTC+8,
 * no daylight saving), which is 00:00 UTC of the same date. With
 * A = expiry - 3 months and B = expiry - 1 month (mt_cal_add_months,
 * month-end clamped):
 *   monthly:     the first Monday of each month that falls in [A, B)
 *                (a first Monday before A is more than 3 months early: no);
 *   weekly:      every Monday in [B, expiry - 7];
 *   week_before: expiry - 7; expiry_day: expiry; expired: expiry + 1.
 * A day produced by two rules appears once, with the later rule's kind.
 * Writes up to "cap" notices to "out" and the count to *out_len. Returns
 * MT_OK; MT_ENOSPACE when cap is too small (*out_len = the count needed;
 * MT_LICENCE_NOTICE_MAX always suffices); MT_ERANGE when A or expiry + 1 is
 * outside the calendar. */
MT_MUSTCHECK mt_status mt_licence_notices(mt_day expiry, mt_licence_notice *out, size_t cap,
                                          size_t *out_len, mt_error *err);

#endif
