/* Tests of mt/plan.h (core/src/licence_plan.c): the table against FEATURES section P,
 * cell by cell, and the checks. */
#include "../t.h"
#include "mt/plan.h"

/* ---- unhappy paths ------------------------------------------------------- */

static void plan_rejects_unknown_names(void)
{
    mt_plan p = MT_PLAN_PRO;
    mt_quota q = MT_Q_APPS;
    mt_error err;
    T_ERR(mt_plan_from_name("gold", &p, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "unknown plan \"gold\" (expected trial, free, standard or pro)");
    T_ERR(mt_plan_from_name("Pro", &p, &err), MT_EINVAL); /* names are lower-case */
    T_ERR(mt_plan_from_name("", &p, &err), MT_EINVAL);
    T_ERR(mt_plan_from_name(NULL, &p, &err), MT_EINVAL);
    T_EQ_INT(p, MT_PLAN_PRO);
    T_ERR(mt_quota_from_name("P0", &q, &err), MT_EINVAL);
    T_ERR(mt_quota_from_name("P26", &q, &err), MT_EINVAL);
    T_ERR(mt_quota_from_name("p3", &q, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "unknown quota \"p3\" (expected P1..P25 or a key)");
    T_ERR(mt_quota_from_name(NULL, &q, &err), MT_EINVAL);
    T_EQ_INT(q, MT_Q_APPS);
    T_TRUE(mt_plan_name((mt_plan)4) == NULL);
    T_TRUE(mt_plan_name((mt_plan)-1) == NULL);
    T_TRUE(mt_quota_id((mt_quota)0) == NULL);
    T_TRUE(mt_quota_id((mt_quota)26) == NULL);
    T_TRUE(mt_access_name((mt_access)3) == NULL);
}

static void plan_get_rejects_unknown_plan_or_quota(void)
{
    mt_plan_entry e = {MT_QK_TERM, 7, 7};
    mt_error err;
    T_ERR(mt_plan_get((mt_plan)4, MT_Q_APPS, &e, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "unknown plan 4 (expected 0..3)");
    T_ERR(mt_plan_get(MT_PLAN_FREE, (mt_quota)0, &e, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "unknown quota P0 (expected P1..P25)");
    T_ERR(mt_plan_get(MT_PLAN_FREE, (mt_quota)26, &e, &err), MT_EINVAL);
    T_EQ_INT(e.limit, 7);
}

static void plan_check_rejects_wrong_kind_and_negative(void)
{
    mt_error err;
    T_ERR(mt_plan_check(MT_PLAN_PRO, MT_Q_WEB_API, 1, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "P20 Web API is not a count quota (use mt_plan_require)");
    T_ERR(mt_plan_check(MT_PLAN_PRO, MT_Q_LICENCE_TERM, 1, &err), MT_EINVAL);
    T_ERR(mt_plan_check(MT_PLAN_PRO, MT_Q_APPS, -1, &err), MT_EINVAL);
    T_ERR(mt_plan_check((mt_plan)9, MT_Q_APPS, 1, &err), MT_EINVAL);
    T_ERR(mt_plan_require(MT_PLAN_PRO, MT_Q_APPS, MT_ACCESS_FULL, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "P3 registered apps is not a feature (use mt_plan_check)");
    T_ERR(mt_plan_require(MT_PLAN_PRO, MT_Q_WEB_API, MT_ACCESS_NONE, &err), MT_EINVAL);
    T_ERR(mt_plan_require(MT_PLAN_PRO, MT_Q_WEB_API, (mt_access)3, &err), MT_EINVAL);
    T_ERR(mt_plan_require((mt_plan)-1, MT_Q_WEB_API, MT_ACCESS_FULL, &err), MT_EINVAL);
    T_ERR(mt_plan_check_term((mt_plan)4, 1, &err), MT_EINVAL);
}

/* ---- the table, every cell against FEATURES section P ---------------------- */

/* Expected cells in table order (Trial, Free, Standard, Pro); NA = "-". */
#define NA (-1)
#define MB INT64_C(1000000)
#define GB INT64_C(1000000000)
static const struct {
    const char *id, *key;
    mt_quota_kind kind;
    int64_t cell[4];
} expected[] = {
    {"P1", "account", MT_QK_FEATURE, {0, 2, 2, 2}},
    {"P2", "storage_bytes", MT_QK_BYTES, {500 * MB, 5 * GB, 50 * GB, 500 * GB}},
    {"P3", "apps", MT_QK_COUNT, {2, 3, 10, 100}},
    {"P4", "users", MT_QK_COUNT, {1, 3, 10, 100}},
    {"P5", "teams", MT_QK_COUNT, {0, 3, 10, 100}},
    {"P6", "groups", MT_QK_COUNT, {1, 1, 10, 100}},
    {"P7", "alarms_per_group", MT_QK_COUNT, {1, 3, 30, 100}},
    {"P8", "computed_channels_per_group", MT_QK_COUNT, {0, 3, 30, 100}},
    {"P9", "dashboards_per_group", MT_QK_COUNT, {0, 1, 3, 10}},
    {"P10", "channels_per_instrument_one", MT_QK_COUNT, {10, 30, 30, 100}},
    {"P11", "channels_lr8450_direct", MT_QK_COUNT, {NA, 30, 150, 1000}},
    {"P12", "instruments_per_app", MT_QK_COUNT, {1, 3, 8, 8}},
    {"P13", "photo_templates_per_group", MT_QK_COUNT, {0, 0, 30, 100}},
    {"P14", "battery_profiles", MT_QK_COUNT, {0, 0, 30, 100}},
    {"P15", "battery_thresholds", MT_QK_COUNT, {0, 0, 30, 100}},
    {"P16", "equipment_lists", MT_QK_COUNT, {0, 0, 3, 100}},
    {"P17", "report_templates_per_group", MT_QK_COUNT, {0, 0, 3, 10}},
    {"P18", "console_one", MT_QK_FEATURE, {0, 0, 2, 2}},
    {"P19", "console_lr8450_direct", MT_QK_FEATURE, {0, 1, 2, 2}},
    {"P20", "web_api", MT_QK_FEATURE, {0, 0, 0, 2}},
    {"P21", "ip_restriction", MT_QK_FEATURE, {0, 0, 0, 2}},
    {"P22", "own_logo", MT_QK_FEATURE, {0, 2, 2, 2}},
    {"P23", "alt_login_id", MT_QK_FEATURE, {0, 0, 0, 2}},
    {"P24", "import", MT_QK_FEATURE, {0, 0, 0, 2}},
    {"P25", "licence_term", MT_QK_TERM, {0, 0, 0x100A, 0x100A}},
};

static void plan_table_matches_features_cell_by_cell(void)
{
    size_t i;
    int p;
    T_EQ_INT(sizeof expected / sizeof expected[0], MT_QUOTA_LAST);
    for (i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        mt_quota q = (mt_quota)(i + 1), named;
        T_EQ_STR(mt_quota_id(q), expected[i].id);
        T_EQ_STR(mt_quota_key(q), expected[i].key);
        T_TRUE(mt_quota_title(q) != NULL);
        T_EQ_INT(mt_quota_kind_of(q), expected[i].kind);
        T_OK(mt_quota_from_name(expected[i].id, &named, NULL));
        T_EQ_INT(named, q);
        T_OK(mt_quota_from_name(expected[i].key, &named, NULL));
        T_EQ_INT(named, q);
        for (p = 0; p < MT_PLAN_COUNT; p++) {
            mt_plan_entry e;
            T_OK(mt_plan_get((mt_plan)p, q, &e, NULL));
            T_EQ_INT(e.kind, expected[i].kind);
            if (expected[i].cell[p] == NA) {
                T_EQ_INT(e.available, 0);
                T_EQ_INT(e.limit, 0);
            } else {
                if (!e.available || e.limit != expected[i].cell[p]) {
                    T_FAIL("%s on %s: %lld (available %d), want %lld", expected[i].id,
                           mt_plan_name((mt_plan)p), (long long)e.limit, e.available,
                           (long long)expected[i].cell[p]);
                }
            }
        }
    }
}

static void plan_names_round_trip(void)
{
    static const char *const names[] = {"trial", "free", "standard", "pro"};
    static const char *const titles[] = {"Trial", "Free", "Standard", "Pro"};
    int p;
    for (p = 0; p < MT_PLAN_COUNT; p++) {
        mt_plan back;
        T_EQ_STR(mt_plan_name((mt_plan)p), names[p]);
        T_EQ_STR(mt_plan_title((mt_plan)p), titles[p]);
        T_OK(mt_plan_from_name(names[p], &back, NULL));
        T_EQ_INT(back, p);
    }
    T_EQ_STR(mt_quota_title(MT_Q_APPS), "registered apps");
    T_EQ_STR(mt_quota_title(MT_Q_CHANNELS_LR8450), "selected channels (LR8450 direct)");
    T_EQ_STR(mt_access_name(MT_ACCESS_VIEW), "view");
}

static void storage_is_in_decimal_bytes(void)
{
    mt_plan_entry e;
    T_OK(mt_plan_get(MT_PLAN_TRIAL, MT_Q_STORAGE, &e, NULL));
    T_EQ_INT(e.limit, 500000000);
    T_OK(mt_plan_get(MT_PLAN_PRO, MT_Q_STORAGE, &e, NULL));
    T_EQ_INT(e.limit, INT64_C(500000000000));
    /* The specification's own example: 500 MB x 18 months = 9 GB. */
    T_OK(mt_plan_get(MT_PLAN_TRIAL, MT_Q_STORAGE, &e, NULL));
    T_EQ_INT(e.limit * 18, 9 * GB);
}

/* ---- checks -------------------------------------------------------------- */

static void plan_check_counts_up_to_the_limit(void)
{
    mt_error err;
    T_OK(mt_plan_check(MT_PLAN_FREE, MT_Q_APPS, 3, &err));
    T_ERR(mt_plan_check(MT_PLAN_FREE, MT_Q_APPS, 4, &err), MT_ELIMIT);
    T_EQ_INT(err.code, MT_ELIMIT);
    T_EQ_STR(err.msg, "P3 registered apps: limit 3 on plan free, would be 4");
    T_OK(mt_plan_check(MT_PLAN_TRIAL, MT_Q_TEAMS, 0, &err));
    T_ERR(mt_plan_check(MT_PLAN_TRIAL, MT_Q_TEAMS, 1, &err), MT_ELIMIT);
    T_OK(mt_plan_check(MT_PLAN_PRO, MT_Q_CHANNELS_LR8450, 1000, &err));
    T_ERR(mt_plan_check(MT_PLAN_PRO, MT_Q_CHANNELS_LR8450, 1001, &err), MT_ELIMIT);
    T_OK(mt_plan_check(MT_PLAN_STANDARD, MT_Q_INSTRUMENTS_PER_APP, 8, &err));
    T_ERR(mt_plan_check(MT_PLAN_PRO, MT_Q_INSTRUMENTS_PER_APP, 9, &err), MT_ELIMIT);
    T_OK(mt_plan_check(MT_PLAN_FREE, MT_Q_STORAGE, 5 * GB, &err));
    T_ERR(mt_plan_check(MT_PLAN_FREE, MT_Q_STORAGE, 5 * GB + 1, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P2 cloud storage: limit 5000000000 bytes on plan free, would be "
                      "5000000001");
}

static void plan_check_not_available_cell(void)
{
    mt_error err;
    T_OK(mt_plan_check(MT_PLAN_TRIAL, MT_Q_CHANNELS_LR8450, 0, &err));
    T_ERR(mt_plan_check(MT_PLAN_TRIAL, MT_Q_CHANNELS_LR8450, 1, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P11 selected channels (LR8450 direct) is not available on plan trial");
}

static void plan_require_features_and_view_only(void)
{
    mt_error err;
    T_OK(mt_plan_require(MT_PLAN_PRO, MT_Q_WEB_API, MT_ACCESS_FULL, &err));
    T_ERR(mt_plan_require(MT_PLAN_STANDARD, MT_Q_WEB_API, MT_ACCESS_FULL, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P20 Web API is not available on plan standard (needs pro)");
    T_OK(mt_plan_require(MT_PLAN_FREE, MT_Q_CONSOLE_LR8450, MT_ACCESS_VIEW, &err));
    T_ERR(mt_plan_require(MT_PLAN_FREE, MT_Q_CONSOLE_LR8450, MT_ACCESS_FULL, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P19 console (LR8450 direct) is view only on plan free (needs standard)");
    T_ERR(mt_plan_require(MT_PLAN_TRIAL, MT_Q_CONSOLE_LR8450, MT_ACCESS_VIEW, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P19 console (LR8450 direct) is not available on plan trial (needs free)");
    T_OK(mt_plan_require(MT_PLAN_FREE, MT_Q_OWN_LOGO, MT_ACCESS_FULL, &err));
    T_ERR(mt_plan_require(MT_PLAN_TRIAL, MT_Q_ACCOUNT, MT_ACCESS_FULL, &err), MT_ELIMIT);
    T_ERR(mt_plan_require(MT_PLAN_FREE, MT_Q_CONSOLE_ONE, MT_ACCESS_FULL, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P18 console (One remote mode) is not available on plan free "
                      "(needs standard)");
}

static void plan_terms_are_1_3_12_months_on_paid_plans(void)
{
    mt_error err;
    T_OK(mt_plan_check_term(MT_PLAN_STANDARD, 1, &err));
    T_OK(mt_plan_check_term(MT_PLAN_STANDARD, 3, &err));
    T_OK(mt_plan_check_term(MT_PLAN_PRO, 12, &err));
    T_ERR(mt_plan_check_term(MT_PLAN_PRO, 6, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P25 licence term of 6 months is not offered on plan pro (1, 3 or 12 "
                      "months)");
    T_ERR(mt_plan_check_term(MT_PLAN_PRO, 0, &err), MT_ELIMIT);
    T_ERR(mt_plan_check_term(MT_PLAN_PRO, -12, &err), MT_ELIMIT);
    T_ERR(mt_plan_check_term(MT_PLAN_PRO, 64, &err), MT_ELIMIT);
    T_ERR(mt_plan_check_term(MT_PLAN_FREE, 1, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P25 licence term: plan free is free of charge and has no licence term");
    T_ERR(mt_plan_check_term(MT_PLAN_TRIAL, 12, &err), MT_ELIMIT);
}

static void plan_cheapest_names_the_upgrade(void)
{
    mt_plan p = MT_PLAN_TRIAL;
    mt_error err;
    T_OK(mt_plan_cheapest(MT_Q_APPS, 4, &p, NULL));
    T_EQ_INT(p, MT_PLAN_STANDARD);
    T_OK(mt_plan_cheapest(MT_Q_APPS, 2, &p, NULL));
    T_EQ_INT(p, MT_PLAN_TRIAL);
    T_OK(mt_plan_cheapest(MT_Q_CHANNELS_LR8450, 0, &p, NULL));
    T_EQ_INT(p, MT_PLAN_FREE); /* Trial's "-" never fits */
    T_OK(mt_plan_cheapest(MT_Q_WEB_API, MT_ACCESS_FULL, &p, NULL));
    T_EQ_INT(p, MT_PLAN_PRO);
    T_OK(mt_plan_cheapest(MT_Q_LICENCE_TERM, 3, &p, NULL));
    T_EQ_INT(p, MT_PLAN_STANDARD);
    T_ERR(mt_plan_cheapest(MT_Q_INSTRUMENTS_PER_APP, 9, &p, &err), MT_ELIMIT);
    T_EQ_STR(err.msg, "P12 instruments per app (Cross / One): no plan allows 9");
    T_ERR(mt_plan_cheapest(MT_Q_LICENCE_TERM, 6, &p, &err), MT_ELIMIT);
    T_ERR(mt_plan_cheapest((mt_quota)99, 1, &p, &err), MT_EINVAL);
}

void suite_licence_plan(void)
{
    T_RUN(plan_rejects_unknown_names);
    T_RUN(plan_get_rejects_unknown_plan_or_quota);
    T_RUN(plan_check_rejects_wrong_kind_and_negative);
    T_RUN(plan_table_matches_features_cell_by_cell);
    T_RUN(plan_names_round_trip);
    T_RUN(storage_is_in_decimal_bytes);
    T_RUN(plan_check_counts_up_to_the_limit);
    T_RUN(plan_check_not_available_cell);
    T_RUN(plan_require_features_and_view_only);
    T_RUN(plan_terms_are_1_3_12_months_on_paid_plans);
    T_RUN(plan_cheapest_names_the_upgrade);
}
