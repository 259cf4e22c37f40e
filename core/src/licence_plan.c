/* The plan table of FEATURES section P (see mt/plan.h) and its checks.
 *
 * PLAN_TABLE below is the only copy of these numbers in Metron. Each row is
 * one quota: its number, key, title, kind and the cells for Trial, Free,
 * Standard and Pro in that order, exactly as in the specification's table. */
#include "mt/plan.h"

#include <string.h>

#define MB INT64_C(1000000)    /* decimal units: see mt/plan.h */
#define GB INT64_C(1000000000)
#define NA (-1)                /* "-" in the specification: not available */
#define NO MT_ACCESS_NONE
#define VIEW MT_ACCESS_VIEW
#define YES MT_ACCESS_FULL
#define TERM_FREE 0            /* "free" (免费): free of charge, no licence term */
#define TERM_1_3_12 ((1 << 1) | (1 << 3) | (1 << 12))

/* X(number, key, title, kind, trial, free, standard, pro) */
#define PLAN_TABLE(X)                                                                     \
    X(1, "account", "account", FEATURE, NO, YES, YES, YES)                                \
    X(2, "storage_bytes", "cloud storage", BYTES, 500 * MB, 5 * GB, 50 * GB, 500 * GB)    \
    X(3, "apps", "registered apps", COUNT, 2, 3, 10, 100)                                 \
    X(4, "users", "users", COUNT, 1, 3, 10, 100)                                          \
    X(5, "teams", "teams", COUNT, 0, 3, 10, 100)                                          \
    X(6, "groups", "measurement groups", COUNT, 1, 1, 10, 100)                            \
    X(7, "alarms_per_group", "alarms per group", COUNT, 1, 3, 30, 100)                    \
    X(8, "computed_channels_per_group", "computed channels per group", COUNT, 0, 3, 30,   \
      100)                                                                                \
    X(9, "dashboards_per_group", "dashboards per group", COUNT, 0, 1, 3, 10)              \
    X(10, "channels_per_instrument_one", "selected channels per instrument (One)", COUNT, \
      10, 30, 30, 100)                                                                    \
    X(11, "channels_lr8450_direct", "selected channels (LR8450 direct)", COUNT, NA, 30,   \
      150, 1000)                                                                          \
    X(12, "instruments_per_app", "instruments per app (Cross / One)", COUNT, 1, 3, 8, 8)  \
    X(13, "photo_templates_per_group", "shared photo-drawing templates per group", COUNT, \
      0, 0, 30, 100)                                                                      \
    X(14, "battery_profiles", "shared battery profiles", COUNT, 0, 0, 30, 100)            \
    X(15, "battery_thresholds", "shared battery thresholds", COUNT, 0, 0, 30, 100)        \
    X(16, "equipment_lists", "shared equipment lists", COUNT, 0, 0, 3, 100)               \
    X(17, "report_templates_per_group", "automatic report templates per group", COUNT, 0, \
      0, 3, 10)                                                                           \
    X(18, "console_one", "console (One remote mode)", FEATURE, NO, NO, YES, YES)          \
    X(19, "console_lr8450_direct", "console (LR8450 direct)", FEATURE, NO, VIEW, YES, YES) \
    X(20, "web_api", "Web API", FEATURE, NO, NO, NO, YES)                                 \
    X(21, "ip_restriction", "IP address restriction", FEATURE, NO, NO, NO, YES)           \
    X(22, "own_logo", "own logo", FEATURE, NO, YES, YES, YES)                             \
    X(23, "alt_login_id", "alternative login account ID", FEATURE, NO, NO, NO, YES)       \
    X(24, "import", "import of measured values", FEATURE, NO, NO, NO, YES)                \
    X(25, "licence_term", "licence term", TERM, TERM_FREE, TERM_FREE, TERM_1_3_12,        \
      TERM_1_3_12)

struct row {
    const char *id;
    const char *key;
    const char *title;
    mt_quota_kind kind;
    int64_t cell[MT_PLAN_COUNT];
};

/* Indexed by quota number; row 0 is unused so that rows[q] is quota q. */
static const struct row rows[MT_QUOTA_LAST + 1] = {
    {NULL, NULL, NULL, MT_QK_COUNT, {0, 0, 0, 0}},
#define ROW(n, key, title, kind, t, f, s, p) \
    {"P" #n, key, title, MT_QK_##kind, {(int64_t)(t), (int64_t)(f), (int64_t)(s), (int64_t)(p)}},
    PLAN_TABLE(ROW)
#undef ROW
};

static const char *const plan_names[MT_PLAN_COUNT] = {"trial", "free", "standard", "pro"};
static const char *const plan_titles[MT_PLAN_COUNT] = {"Trial", "Free", "Standard", "Pro"};
static const char *const access_names[3] = {"none", "view", "full"};

static int plan_ok(mt_plan plan)
{
    return (int)plan >= 0 && (int)plan < MT_PLAN_COUNT;
}

static int quota_ok(mt_quota q)
{
    return (int)q >= MT_QUOTA_FIRST && (int)q <= MT_QUOTA_LAST;
}

const char *mt_plan_name(mt_plan plan)
{
    return plan_ok(plan) ? plan_names[plan] : NULL;
}

const char *mt_plan_title(mt_plan plan)
{
    return plan_ok(plan) ? plan_titles[plan] : NULL;
}

mt_status mt_plan_from_name(const char *name, mt_plan *out, mt_error *err)
{
    int i;
    if (!name) {
        return mt_fail(err, MT_EINVAL, 0, "plan name is NULL");
    }
    for (i = 0; i < MT_PLAN_COUNT; i++) {
        if (strcmp(name, plan_names[i]) == 0) {
            *out = (mt_plan)i;
            return MT_OK;
        }
    }
    return mt_fail(err, MT_EINVAL, 0,
                   "unknown plan \"%.40s\" (expected trial, free, standard or pro)", name);
}

const char *mt_quota_id(mt_quota q)
{
    return quota_ok(q) ? rows[q].id : NULL;
}

const char *mt_quota_key(mt_quota q)
{
    return quota_ok(q) ? rows[q].key : NULL;
}

const char *mt_quota_title(mt_quota q)
{
    return quota_ok(q) ? rows[q].title : NULL;
}

mt_status mt_quota_from_name(const char *name, mt_quota *out, mt_error *err)
{
    int q;
    if (!name) {
        return mt_fail(err, MT_EINVAL, 0, "quota name is NULL");
    }
    for (q = MT_QUOTA_FIRST; q <= MT_QUOTA_LAST; q++) {
        if (strcmp(name, rows[q].id) == 0 || strcmp(name, rows[q].key) == 0) {
            *out = (mt_quota)q;
            return MT_OK;
        }
    }
    return mt_fail(err, MT_EINVAL, 0, "unknown quota \"%.40s\" (expected P1..P25 or a key)",
                   name);
}

mt_quota_kind mt_quota_kind_of(mt_quota q)
{
    return quota_ok(q) ? rows[q].kind : MT_QK_COUNT;
}

const char *mt_access_name(mt_access a)
{
    return (int)a >= 0 && (int)a <= 2 ? access_names[a] : NULL;
}

static mt_status validate(mt_plan plan, mt_quota q, mt_error *err)
{
    if (!plan_ok(plan)) {
        return mt_fail(err, MT_EINVAL, 0, "unknown plan %d (expected 0..3)", (int)plan);
    }
    if (!quota_ok(q)) {
        return mt_fail(err, MT_EINVAL, 0, "unknown quota P%d (expected P1..P25)", (int)q);
    }
    return MT_OK;
}

mt_status mt_plan_get(mt_plan plan, mt_quota q, mt_plan_entry *out, mt_error *err)
{
    mt_status st = validate(plan, q, err);
    int64_t cell;
    if (st != MT_OK) {
        return st;
    }
    cell = rows[q].cell[plan];
    out->kind = rows[q].kind;
    out->available = cell != NA;
    out->limit = cell == NA ? 0 : cell;
    return MT_OK;
}

mt_status mt_plan_cheapest(mt_quota q, int64_t need, mt_plan *out, mt_error *err)
{
    int p;
    if (!quota_ok(q)) {
        return mt_fail(err, MT_EINVAL, 0, "unknown quota P%d (expected P1..P25)", (int)q);
    }
    for (p = 0; p < MT_PLAN_COUNT; p++) {
        int64_t cell = rows[q].cell[p];
        int fits;
        if (cell == NA) {
            continue;
        }
        if (rows[q].kind == MT_QK_TERM) {
            fits = need >= 0 && need < 63 && (cell >> need) & 1;
        } else {
            fits = cell >= need;
        }
        if (fits) {
            *out = (mt_plan)p;
            return MT_OK;
        }
    }
    return mt_fail(err, MT_ELIMIT, 0, "%s %s: no plan allows %lld", rows[q].id, rows[q].title,
                   (long long)need);
}

mt_status mt_plan_check(mt_plan plan, mt_quota q, int64_t count_after_change, mt_error *err)
{
    mt_status st = validate(plan, q, err);
    int64_t cell;
    if (st != MT_OK) {
        return st;
    }
    if (rows[q].kind != MT_QK_COUNT && rows[q].kind != MT_QK_BYTES) {
        return mt_fail(err, MT_EINVAL, 0, "%s %s is not a count quota (use mt_plan_require)",
                       rows[q].id, rows[q].title);
    }
    if (count_after_change < 0) {
        return mt_fail(err, MT_EINVAL, 0, "%s %s: negative count %lld", rows[q].id,
                       rows[q].title, (long long)count_after_change);
    }
    cell = rows[q].cell[plan];
    if (cell == NA) {
        if (count_after_change == 0) {
            return MT_OK;
        }
        return mt_fail(err, MT_ELIMIT, 0, "%s %s is not available on plan %s", rows[q].id,
                       rows[q].title, plan_names[plan]);
    }
    if (count_after_change > cell) {
        return mt_fail(err, MT_ELIMIT, 0, "%s %s: limit %lld%s on plan %s, would be %lld",
                       rows[q].id, rows[q].title, (long long)cell,
                       rows[q].kind == MT_QK_BYTES ? " bytes" : "", plan_names[plan],
                       (long long)count_after_change);
    }
    return MT_OK;
}

mt_status mt_plan_require(mt_plan plan, mt_quota q, mt_access need, mt_error *err)
{
    mt_status st = validate(plan, q, err);
    mt_plan cheapest = MT_PLAN_PRO;
    int64_t have;
    if (st != MT_OK) {
        return st;
    }
    if (rows[q].kind != MT_QK_FEATURE) {
        return mt_fail(err, MT_EINVAL, 0, "%s %s is not a feature (use mt_plan_check)",
                       rows[q].id, rows[q].title);
    }
    if (need != MT_ACCESS_VIEW && need != MT_ACCESS_FULL) {
        return mt_fail(err, MT_EINVAL, 0, "%s %s: required level %d is not view (1) or full (2)",
                       rows[q].id, rows[q].title, (int)need);
    }
    have = rows[q].cell[plan];
    if (have >= need) {
        return MT_OK;
    }
    /* Every feature is allowed on Pro, so this cannot fail; keep Pro if it did. */
    if (mt_plan_cheapest(q, need, &cheapest, NULL) != MT_OK) {
        cheapest = MT_PLAN_PRO;
    }
    if (have == MT_ACCESS_VIEW) {
        return mt_fail(err, MT_ELIMIT, 0, "%s %s is view only on plan %s (needs %s)",
                       rows[q].id, rows[q].title, plan_names[plan], plan_names[cheapest]);
    }
    return mt_fail(err, MT_ELIMIT, 0, "%s %s is not available on plan %s (needs %s)", rows[q].id,
                   rows[q].title, plan_names[plan], plan_names[cheapest]);
}

mt_status mt_plan_check_term(mt_plan plan, int months, mt_error *err)
{
    mt_status st = validate(plan, MT_Q_LICENCE_TERM, err);
    int64_t mask;
    if (st != MT_OK) {
        return st;
    }
    mask = rows[MT_Q_LICENCE_TERM].cell[plan];
    if (mask == TERM_FREE) {
        return mt_fail(err, MT_ELIMIT, 0,
                       "P25 licence term: plan %s is free of charge and has no licence term",
                       plan_names[plan]);
    }
    if (months < 1 || months > 62 || !((mask >> months) & 1)) {
        return mt_fail(err, MT_ELIMIT, 0,
                       "P25 licence term of %d months is not offered on plan %s "
                       "(1, 3 or 12 months)",
                       months, plan_names[plan]);
    }
    return MT_OK;
}
