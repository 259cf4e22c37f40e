/* Metron core: the plan table (FEATURES section P, P1..P25) and quota checks.
 *
 * The whole table lives in one place, core/src/licence_plan.c, transcribed from the
 * plan table of the service specification (seed/service-spec-v06.zh.md,
 * "计划的内容"). The server never keeps its own copies of these numbers: it
 * asks mt_plan_get() / mt_plan_check() / mt_plan_require(), and when a check
 * fails it answers with the quota id, the limit and the plan name, e.g.
 *     {"code":"plan_limit","quota":"P3","limit":3,"plan":"free"}
 * built from mt_quota_id(), mt_plan_get() and mt_plan_name().
 *
 * Storage (P2) is in bytes with decimal units: 1 MB = 10^6 bytes and
 * 1 GB = 10^9 bytes (SI, as the specification writes "MB"/"GB", not
 * "MiB"/"GiB"; its own order example computes "500 MB x 18 = 9 GB", which
 * only holds in decimal units). So Trial = 500 000 000 bytes, Free =
 * 5 000 000 000, Standard = 50 000 000 000, Pro = 500 000 000 000.
 *
 * Every function is pure and thread-safe; names are static strings. */
#ifndef MT_PLAN_H
#define MT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "mt/status.h"

/* The plans, cheapest first. Numeric values are stable (stored in the
 * database): never renumber. */
typedef enum {
    MT_PLAN_TRIAL = 0,
    MT_PLAN_FREE = 1,
    MT_PLAN_STANDARD = 2,
    MT_PLAN_PRO = 3
} mt_plan;

#define MT_PLAN_COUNT 4

/* The quotas; the numeric value is the number of the FEATURES id ("P3" = 3). */
typedef enum {
    MT_Q_ACCOUNT = 1,                  /* P1  account (Trial: e-mail login, no account) */
    MT_Q_STORAGE = 2,                  /* P2  cloud storage, bytes */
    MT_Q_APPS = 3,                     /* P3  registered apps */
    MT_Q_USERS = 4,                    /* P4  users */
    MT_Q_TEAMS = 5,                    /* P5  teams */
    MT_Q_GROUPS = 6,                   /* P6  measurement groups */
    MT_Q_ALARMS_PER_GROUP = 7,         /* P7  alarms per group */
    MT_Q_COMPUTED_PER_GROUP = 8,       /* P8  computed channels per group */
    MT_Q_DASHBOARDS_PER_GROUP = 9,     /* P9  dashboards per group */
    MT_Q_CHANNELS_ONE = 10,            /* P10 selected channels per instrument (One) */
    MT_Q_CHANNELS_LR8450 = 11,         /* P11 selected channels (LR8450 direct) */
    MT_Q_INSTRUMENTS_PER_APP = 12,     /* P12 instruments per app (Cross / One) */
    MT_Q_PHOTO_TEMPLATES = 13,         /* P13 shared photo-drawing templates per group */
    MT_Q_BATTERY_PROFILES = 14,        /* P14 shared battery profiles */
    MT_Q_BATTERY_THRESHOLDS = 15,      /* P15 shared battery thresholds */
    MT_Q_EQUIPMENT_LISTS = 16,         /* P16 shared equipment lists */
    MT_Q_REPORT_TEMPLATES = 17,        /* P17 automatic report templates per group */
    MT_Q_CONSOLE_ONE = 18,             /* P18 console (One remote mode) */
    MT_Q_CONSOLE_LR8450 = 19,          /* P19 console (LR8450 direct); Free: view only */
    MT_Q_WEB_API = 20,                 /* P20 Web API */
    MT_Q_IP_RESTRICTION = 21,          /* P21 IP address restriction */
    MT_Q_OWN_LOGO = 22,                /* P22 own logo */
    MT_Q_ALT_LOGIN_ID = 23,            /* P23 alternative login account ID */
    MT_Q_IMPORT = 24,                  /* P24 import of measured values */
    MT_Q_LICENCE_TERM = 25             /* P25 licence term */
} mt_quota;

#define MT_QUOTA_FIRST 1
#define MT_QUOTA_LAST 25

/* What a table cell means. */
typedef enum {
    MT_QK_COUNT = 0,   /* limit = the largest number allowed (P3..P17) */
    MT_QK_BYTES = 1,   /* limit = bytes, decimal units (P2) */
    MT_QK_FEATURE = 2, /* limit = an mt_access level (P1, P18..P24) */
    MT_QK_TERM = 3     /* limit = mask of licence terms in months, bit n = n months;
                          0 = free of charge, no term (P25) */
} mt_quota_kind;

/* Levels of a feature. "view only" (P19 on Free) is MT_ACCESS_VIEW. */
typedef enum { MT_ACCESS_NONE = 0, MT_ACCESS_VIEW = 1, MT_ACCESS_FULL = 2 } mt_access;

/* One cell of the table. "available" is 0 where the specification writes
 * "-" (P11 on Trial: LR8450 direct connection does not exist on Trial);
 * "limit" is then 0. */
typedef struct {
    mt_quota_kind kind;
    int available;
    int64_t limit;
} mt_plan_entry;

/* The lower-case name of "plan" ("trial", "free", "standard", "pro"), the
 * name used in the API and the database; NULL when "plan" is not a plan. */
const char *mt_plan_name(mt_plan plan);

/* The display name ("Trial", "Free", "Standard", "Pro"); NULL when invalid. */
const char *mt_plan_title(mt_plan plan);

/* The plan named "name" (exactly one of the mt_plan_name() strings; case
 * matters). Returns MT_OK and sets *out, or MT_EINVAL with a message listing
 * the valid names when "name" is NULL or unknown (*out unchanged). */
MT_MUSTCHECK mt_status mt_plan_from_name(const char *name, mt_plan *out, mt_error *err);

/* The FEATURES id of "q" ("P3"), its JSON key ("apps") and its English
 * title ("registered apps"); NULL when "q" is not 1..25. */
const char *mt_quota_id(mt_quota q);
const char *mt_quota_key(mt_quota q);
const char *mt_quota_title(mt_quota q);

/* The quota named "name": a FEATURES id ("P3", upper-case P) or a key
 * ("apps"). Returns MT_OK and sets *out, or MT_EINVAL when "name" is NULL or
 * unknown (*out unchanged). */
MT_MUSTCHECK mt_status mt_quota_from_name(const char *name, mt_quota *out, mt_error *err);

/* The kind of "q" (every plan has the same kind for a quota); MT_QK_COUNT
 * for an invalid "q" (use mt_plan_get() to validate). */
mt_quota_kind mt_quota_kind_of(mt_quota q);

/* "none", "view", "full" for an mt_access level; NULL when invalid. */
const char *mt_access_name(mt_access a);

/* The cell of the table for "plan" and "q" into *out. Returns MT_OK, or
 * MT_EINVAL for an unknown plan or quota (*out unchanged). */
MT_MUSTCHECK mt_status mt_plan_get(mt_plan plan, mt_quota q, mt_plan_entry *out, mt_error *err);

/* Whether a count or byte quota allows "count_after_change": the number of
 * objects (or bytes for P2) the account would have after the change the
 * caller is about to make (creating the 4th app: 4). Returns MT_OK when
 * count_after_change <= limit; MT_ELIMIT when above it, with err->msg naming
 * the quota, limit and plan ("P3 registered apps: limit 3 on plan free,
 * would be 4"), and for a "-" cell whenever count_after_change > 0 ("P11 ...
 * is not available on plan trial"); MT_EINVAL for an unknown plan or quota,
 * a quota that is not a count or bytes, or a negative count. Reducing an
 * over-quota count (after a downgrade) is the caller's business: call this
 * only for changes that add. */
MT_MUSTCHECK mt_status mt_plan_check(mt_plan plan, mt_quota q, int64_t count_after_change,
                                     mt_error *err);

/* Whether feature "q" (P1, P18..P24) is allowed on "plan" at level "need"
 * (MT_ACCESS_VIEW to look, MT_ACCESS_FULL to operate). Returns MT_OK;
 * MT_ELIMIT when the plan's level is lower, with err->msg naming the quota,
 * the plan and the cheapest plan that allows it ("P20 Web API is not
 * available on plan standard (needs pro)", "P19 console (LR8450 direct) is
 * view only on plan free (needs standard)"); MT_EINVAL for an unknown plan or
 * quota, a quota that is not a feature, or "need" not VIEW or FULL. */
MT_MUSTCHECK mt_status mt_plan_require(mt_plan plan, mt_quota q, mt_access need, mt_error *err);

/* Whether a licence of "months" months (P25) can be bought for "plan".
 * Returns MT_OK for 1, 3 or 12 months on Standard and Pro; MT_ELIMIT for any
 * other term on those plans, and for any term on Trial and Free (free of
 * charge: they have no licence term); MT_EINVAL for an unknown plan. */
MT_MUSTCHECK mt_status mt_plan_check_term(mt_plan plan, int months, mt_error *err);

/* The cheapest plan whose level for feature or quota "q" allows "need": for
 * a feature, level >= need; for a count/bytes quota, limit >= "need" taken as
 * a count. Returns MT_OK and sets *out, MT_ELIMIT when no plan allows it,
 * MT_EINVAL for an unknown quota. Used for "upgrade to ..." hints. */
MT_MUSTCHECK mt_status mt_plan_cheapest(mt_quota q, int64_t need, mt_plan *out, mt_error *err);

#endif
