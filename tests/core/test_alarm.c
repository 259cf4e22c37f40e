/* Tests of core/src/alarm.c and alarm_text.c: rule text, evaluator, state.
 * Most evaluator tests are hand-worked vectors written as event strings:
 * "R@t" raise, "C@t" clear, "S<ch>:<kind>@t" special, "E<ch>:<kind>@t" end
 * of a special run, with t in seconds from the start of the test's day. */
#include <stdlib.h>

#include "../t.h"
#include "alloc_int.h"
#include "mt/alarm.h"

#define XXH_INLINE_ALL
#include "xxhash.h"

#define T0 INT64_C(1704067200) /* 2024-01-01T00:00:00Z, in seconds */
#define MISS mt_sv_value(MT_SV_MISSING)
#define HOUR 3600
#define MIN 60

static mt_alarm *new_rule(const char *text)
{
    mt_alarm_rule r;
    mt_alarm *a = NULL;
    mt_error err;
    if (mt_alarm_parse(text, strlen(text), &r, &err) != MT_OK) {
        printf("#   parse of \"%s\" failed at %zu: %s\n", text, err.pos, err.msg);
        return NULL;
    }
    if (mt_alarm_new(&r, &a, &err) != MT_OK) {
        printf("#   mt_alarm_new failed: %s\n", err.msg);
        return NULL;
    }
    return a;
}

static void append_events(char *out, size_t cap, const mt_alarm_event *ev, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char one[64];
        long long s = (long long)(ev[i].t / MT_US_PER_S - T0);
        switch (ev[i].kind) {
        case MT_ALARM_EV_RAISE:
            snprintf(one, sizeof one, "R@%lld ", s);
            break;
        case MT_ALARM_EV_CLEAR:
            snprintf(one, sizeof one, "C@%lld ", s);
            break;
        case MT_ALARM_EV_SPECIAL:
            snprintf(one, sizeof one, "S%d:%s@%lld ", ev[i].channel, mt_sv_name(ev[i].special), s);
            break;
        default:
            snprintf(one, sizeof one, "E%d:%s@%lld ", ev[i].channel, mt_sv_name(ev[i].special),
                     s);
            break;
        }
        strncat(out, one, cap - strlen(out) - 1);
    }
}

/* Feed rows (times in seconds from T0) in chunks of "chunk" rows (0 = all at
 * once); with "save_restore", the state is saved after each chunk and
 * restored into a fresh evaluator. Returns the event string in "out" ("" and
 * a test failure message on error). */
enum { MODE_ONE_CALL, MODE_ROW_BY_ROW, MODE_SAVE_RESTORE, MODE_SMALL_BUFFER };

static int run_mode(const char *text, const double *ts, const double *v1, const double *v2,
                    size_t n, int mode, char *out, size_t cap)
{
    mt_alarm *a = new_rule(text);
    mt_time *t = calloc(n + 1, sizeof *t);
    mt_alarm_event ev[64];
    size_t i = 0, chunk = mode == MODE_ONE_CALL || mode == MODE_SMALL_BUFFER ? n : 1;
    size_t ev_cap = mode == MODE_SMALL_BUFFER ? MT_ALARM_EVENTS_MIN : 64;
    int ok = 1;
    out[0] = '\0';
    if (!a || !t) {
        ok = 0;
        goto out;
    }
    for (i = 0; i < n; i++) {
        t[i] = (T0 + (mt_time)ts[i]) * MT_US_PER_S;
    }
    i = 0;
    while (i < n) {
        size_t n_ev = 0, used = 0, take = chunk < n - i ? chunk : n - i;
        mt_error err;
        mt_status st = mt_alarm_feed(a, t + i, v1 ? v1 + i : NULL, v2 ? v2 + i : NULL, take, ev,
                                     ev_cap, &n_ev, &used, &err);
        if (st != MT_OK && st != MT_ENOSPACE) {
            printf("#   feed failed: %s %s\n", mt_errname(st), err.msg);
            ok = 0;
            goto out;
        }
        if (st == MT_ENOSPACE && n_ev == 0) {
            printf("#   ENOSPACE without progress\n");
            ok = 0;
            goto out;
        }
        append_events(out, cap, ev, n_ev);
        i += used;
        if (mode == MODE_SAVE_RESTORE) {
            uint8_t blob[MT_ALARM_STATE_SIZE];
            size_t blob_len;
            if (mt_alarm_save(a, blob, sizeof blob, &blob_len, &err) != MT_OK) {
                ok = 0;
                goto out;
            }
            mt_alarm_free(a);
            a = new_rule(text);
            if (!a || mt_alarm_restore(a, blob, blob_len, &err) != MT_OK) {
                printf("#   restore failed: %s\n", a ? err.msg : "new");
                ok = 0;
                goto out;
            }
        }
    }
    if (strlen(out) > 0) {
        out[strlen(out) - 1] = '\0'; /* trailing space */
    }
out:
    mt_alarm_free(a);
    free(t);
    return ok;
}

/* Run in every mode; all must give the same events, which go to "out". */
static int run(const char *text, const double *ts, const double *v1, const double *v2, size_t n,
               char *out, size_t cap)
{
    char other[8192];
    int mode;
    if (!run_mode(text, ts, v1, v2, n, MODE_ONE_CALL, out, cap)) {
        return 0;
    }
    for (mode = MODE_ROW_BY_ROW; mode <= MODE_SMALL_BUFFER; mode++) {
        if (!run_mode(text, ts, v1, v2, n, mode, other, sizeof other)) {
            return 0;
        }
        if (strcmp(out, other) != 0) {
            printf("#   mode %d gave \"%s\", one call gave \"%s\"\n", mode, other, out);
            return 0;
        }
    }
    return 1;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Check rule "text" on rows ts/v1/v2 against event string "want". */
#define T_EVENTS(text, ts, v1, v2, want)                                     \
    do {                                                                     \
        char got_[1024];                                                     \
        T_TRUE(run(text, ts, v1, v2, N_OF(ts), got_, sizeof got_));          \
        T_EQ_STR(got_, want);                                                \
    } while (0)

/* ---- parser: unhappy paths first ------------------------------------------ */

static void alarm_parse_reports_error_positions(void)
{
    static const struct {
        const char *text;
        mt_status code;
        size_t pos;
    } cases[] = {
        {"", MT_ESYNTAX, 0},
        {"   ", MT_ESYNTAX, 3},
        {"CH3 > 1", MT_ESYNTAX, 0},
        {"CH1", MT_ESYNTAX, 3},
        {"CH1 = 5", MT_ESYNTAX, 4},
        {"CH1 >", MT_ESYNTAX, 5},
        {"CH1 > x", MT_ESYNTAX, 6},
        {"CH1 > 5x", MT_ESYNTAX, 7},
        {"CH1 > 1e", MT_ESYNTAX, 8},
        {"CH1 > 1e+", MT_ESYNTAX, 9},
        {"CH1 > 1.2.3", MT_ESYNTAX, 9},
        {"CH1 > .", MT_ESYNTAX, 6},
        {"CH1 > 1e999", MT_ERANGE, 6},
        {"CH1 > 2e300", MT_ERANGE, 6},
        {"CH1 > 5 AND", MT_ESYNTAX, 11},
        {"CH1 > 5 AND CH2", MT_ESYNTAX, 15},
        {"CH1 > 5 XOR CH2 > 1", MT_ESYNTAX, 8},
        {"CH1 > 5 AND CH2 > 1 AND CH1 < 0", MT_ESYNTAX, 20},
        {"CH1 OUTSIDE 10, 20", MT_ESYNTAX, 12},
        {"CH1 OUTSIDE [10 20]", MT_ESYNTAX, 16},
        {"CH1 OUTSIDE [10, 20)", MT_ESYNTAX, 19},
        {"CH1 OUTSIDE [20, 10]", MT_ERANGE, 12},
        {"CH1 OUTSIDE (10, 10)", MT_ERANGE, 12},
        {"CH1 > 5 FOR", MT_ESYNTAX, 11},
        {"CH1 > 5 FOR 60", MT_ESYNTAX, 14},
        {"CH1 > 5 FOR 60d", MT_ESYNTAX, 14},
        {"CH1 > 5 FOR 60sec", MT_ESYNTAX, 14},
        {"CH1 > 5 FOR -1s", MT_ESYNTAX, 12},
        {"CH1 > 5 FOR 169h", MT_ERANGE, 12},
        {"CH1 > 5 FOR 9999999999s", MT_ERANGE, 12},
        {"CH1 > 5 FOR 1s FOR 2s", MT_ESYNTAX, 15},
        {"CH1 > 5 CLEAR 1s CLEAR 2s", MT_ESYNTAX, 17},
        {"CH1 > 5 HYST -1", MT_ERANGE, 13},
        {"CH1 OUTSIDE [10, 20] HYST 5", MT_ERANGE, 21},
        {"CH1 > 5 DURING 8-18", MT_ESYNTAX, 16},
        {"CH1 > 5 DURING 08:00", MT_ESYNTAX, 20},
        {"CH1 > 5 DURING 08:00-18:0", MT_ESYNTAX, 24},
        {"CH1 > 5 DURING 08:60-18:00", MT_ERANGE, 15},
        {"CH1 > 5 DURING 25:00-18:00", MT_ERANGE, 15},
        {"CH1 > 5 DURING 24:01-18:00", MT_ERANGE, 15},
        {"CH1 > 5 TZ 08:00", MT_ESYNTAX, 11},
        {"CH1 > 5 TZ +15:00", MT_ERANGE, 12},
        {"CH1 > 5 TZ +14:01", MT_ERANGE, 8},
        {"CH1 > 5 OFFHOURS", MT_ERANGE, 8},
        {"CH1 > 5 OFFHOURS DURING 08:00-08:00", MT_ERANGE, 17},
        {"CH1 > 5 trailing", MT_ESYNTAX, 8},
        {"CH1 > 5 FOR 1s,", MT_ESYNTAX, 14},
        {"CH1 > 5\0 FOR 1s", MT_ESYNTAX, 7},
        {"CH1 > 5 \xc3\xa9", MT_ESYNTAX, 8},
    };
    size_t i;
    for (i = 0; i < N_OF(cases); i++) {
        mt_alarm_rule r;
        mt_error err;
        size_t len = strlen(cases[i].text);
        if (i == N_OF(cases) - 2) {
            len = 15; /* the embedded NUL */
        }
        mt_status st = mt_alarm_parse(cases[i].text, len, &r, &err);
        if (st != cases[i].code || err.pos != cases[i].pos || err.code != st) {
            T_FAIL("\"%s\": got %s at %zu (%s), want %s at %zu", cases[i].text, mt_errname(st),
                   err.pos, err.msg, mt_errname(cases[i].code), cases[i].pos);
        }
        T_EQ_INT(r.n_conds, 0); /* zeroed on failure */
    }
}

static void alarm_parse_rejects_null_and_long_text(void)
{
    mt_alarm_rule r;
    mt_error err;
    char *big = malloc(MT_ALARM_TEXT_MAX + 2);
    T_ERR(mt_alarm_parse(NULL, 0, &r, &err), MT_EINVAL);
    T_ERR(mt_alarm_parse("CH1 > 1", 7, NULL, &err), MT_EINVAL);
    T_TRUE(big != NULL);
    memset(big, ' ', MT_ALARM_TEXT_MAX + 1);
    memcpy(big, "CH1 > 1", 7);
    big[MT_ALARM_TEXT_MAX + 1] = '\0';
    T_OK_E(mt_alarm_parse(big, MT_ALARM_TEXT_MAX, &r, &err), &err);
    if (mt_alarm_parse(big, MT_ALARM_TEXT_MAX + 1, &r, &err) != MT_ELIMIT) {
        free(big);
        T_FAIL("long text accepted");
    }
    free(big);
    T_EQ_INT(err.pos, MT_ALARM_TEXT_MAX);
    /* err may be NULL */
    T_ERR(mt_alarm_parse("CH9", 3, &r, NULL), MT_ESYNTAX);
}

static void alarm_parse_fills_rule_fields(void)
{
    const char *text = "ch1 > 30 and CH2 <= 5 for 1M clear 2m during 22:00 - 06:30 tz -05:30 "
                       "hyst 0.5";
    mt_alarm_rule r;
    mt_error err;
    T_OK_E(mt_alarm_parse(text, strlen(text), &r, &err), &err);
    T_EQ_INT(r.n_conds, 2);
    T_EQ_INT(r.join, MT_ALARM_AND);
    T_EQ_INT(r.cond[0].channel, 1);
    T_EQ_INT(r.cond[0].op, MT_ALARM_GT);
    T_SAME_DOUBLE(r.cond[0].a, 30.0);
    T_EQ_INT(r.cond[1].channel, 2);
    T_EQ_INT(r.cond[1].op, MT_ALARM_LE);
    T_SAME_DOUBLE(r.cond[1].a, 5.0);
    T_EQ_INT(r.raise_filter, 60 * MT_US_PER_S);
    T_EQ_INT(r.clear_filter, 120 * MT_US_PER_S);
    T_SAME_DOUBLE(r.hyst, 0.5);
    T_EQ_INT(r.has_window, 1);
    T_EQ_INT(r.window_start, 22 * 60);
    T_EQ_INT(r.window_end, 6 * 60 + 30);
    T_EQ_INT(r.utc_offset_min, -330);
    T_EQ_INT(r.offhours, 0);
    /* FOR alone sets both filters */
    T_OK_E(mt_alarm_parse("CH2 < -1.5e-3 FOR 2h", 20, &r, &err), &err);
    T_EQ_INT(r.raise_filter, 2 * 3600 * MT_US_PER_S);
    T_EQ_INT(r.clear_filter, 2 * 3600 * MT_US_PER_S);
    T_SAME_DOUBLE(r.cond[0].a, -1.5e-3);
    T_EQ_INT(r.cond[0].op, MT_ALARM_LT);
    /* 24:00 is midnight */
    T_OK_E(mt_alarm_parse("CH1 > 1 DURING 08:00-24:00", 26, &r, &err), &err);
    T_EQ_INT(r.window_end, 0);
}

static void alarm_print_parse_round_trips(void)
{
    static const char *const canonical[] = {
        "CH1 > 30 AND CH2 <= 5 FOR 1m CLEAR 2m DURING 08:00-18:00 TZ +08:00",
        "CH1 OUTSIDE [10, 20] HYST 0.5",
        "CH1 OUTSIDE (10, 20)",
        "CH2 >= 1000 OFFHOURS DURING 08:00-18:00",
        "CH1 < -0.001 OR CH1 > 1e+300",
        "CH2 >= 0.1 CLEAR 90s",
        "CH1 <= 1e-300 FOR 7s CLEAR 0s",
        "CH1 > 123456789012345 DURING 22:00-06:00 TZ -09:30",
        "CH1 > 0.30000000000000004 FOR 168h",
        "CH1 OUTSIDE (-1e+20, 1e+20) OR CH2 OUTSIDE [-5, 5] HYST 2.5 DURING 00:00-00:00",
        "CH1 > 1 TZ -14:00",
    };
    static const struct {
        const char *in, *out;
    } normalised[] = {
        {"ch1>30 and ch2<=5 for 60s during 8:00-18:00 tz +08:00",
         "CH1 > 30 AND CH2 <= 5 FOR 1m DURING 08:00-18:00 TZ +08:00"},
        {"  CH2 >= 1e3   DURING 08:00-18:00 OFFHOURS ", "CH2 >= 1000 OFFHOURS DURING 08:00-18:00"},
        {"CH1 > +5.000 FOR 0s CLEAR 0s HYST 0 TZ +00:00", "CH1 > 5"},
        {"CH1 > -0", "CH1 > 0"},
        {"CH1 OUTSIDE[ 1 ,2 ]", "CH1 OUTSIDE [1, 2]"},
        {"CH1 > 1 FOR 3600 s CLEAR 120M", "CH1 > 1 FOR 1h CLEAR 2h"},
        {"CH1 > 1 DURING 08:00-24:00", "CH1 > 1 DURING 08:00-00:00"},
    };
    size_t i;
    for (i = 0; i < N_OF(canonical); i++) {
        mt_alarm_rule r, r2;
        mt_error err;
        char buf[MT_ALARM_PRINT_MAX];
        size_t len;
        T_OK_E(mt_alarm_parse(canonical[i], strlen(canonical[i]), &r, &err), &err);
        T_OK_E(mt_alarm_print(&r, buf, sizeof buf, &len, &err), &err);
        T_EQ_STR(buf, canonical[i]);
        T_EQ_INT(len, strlen(canonical[i]));
        T_OK_E(mt_alarm_parse(buf, len, &r2, &err), &err);
        T_TRUE(memcmp(&r, &r2, sizeof r) == 0);
    }
    for (i = 0; i < N_OF(normalised); i++) {
        mt_alarm_rule r;
        mt_error err;
        char buf[MT_ALARM_PRINT_MAX];
        T_OK_E(mt_alarm_parse(normalised[i].in, strlen(normalised[i].in), &r, &err), &err);
        T_OK_E(mt_alarm_print(&r, buf, sizeof buf, NULL, &err), &err);
        T_EQ_STR(buf, normalised[i].out);
    }
}

static void alarm_print_reports_space_and_invalid_rules(void)
{
    mt_alarm_rule r;
    mt_error err;
    char buf[16];
    size_t len = 0;
    T_OK_E(mt_alarm_parse("CH1 > 30", 8, &r, &err), &err);
    T_ERR(mt_alarm_print(&r, buf, 8, &len, &err), MT_ENOSPACE);
    T_EQ_INT(len, 8);
    T_OK_E(mt_alarm_print(&r, buf, 9, &len, &err), &err);
    T_EQ_STR(buf, "CH1 > 30");
    T_ERR(mt_alarm_print(NULL, buf, 8, &len, &err), MT_EINVAL);
    T_ERR(mt_alarm_print(&r, NULL, 8, &len, &err), MT_EINVAL);
    r.cond[0].channel = 3;
    T_ERR(mt_alarm_print(&r, buf, 8, &len, &err), MT_EINVAL);
    T_EQ_INT(err.code, MT_EINVAL);
}

static void alarm_rule_check_rejects_bad_fields(void)
{
    mt_alarm_rule base, r;
    mt_error err;
    T_OK_E(mt_alarm_parse("CH1 OUTSIDE [0, 10] FOR 1s", 26, &base, &err), &err);
    T_OK(mt_alarm_rule_check(&base, &err));
    T_ERR(mt_alarm_rule_check(NULL, &err), MT_EINVAL);
#define BAD(stmt)                                        \
    do {                                                 \
        r = base;                                        \
        stmt;                                            \
        T_ERR(mt_alarm_rule_check(&r, &err), MT_ERANGE); \
    } while (0)
    BAD(r.n_conds = 0);
    BAD(r.n_conds = 2);
    BAD(r.join = MT_ALARM_AND);
    BAD(r.cond[0].op = (mt_alarm_op)7);
    BAD(r.cond[0].a = NAN);
    BAD(r.cond[0].b = INFINITY);
    BAD(r.cond[0].a = 10);
    BAD(r.hyst = -1);
    BAD(r.hyst = 5);
    BAD(r.hyst = NAN);
    BAD(r.raise_filter = -1);
    BAD(r.raise_filter = 1);
    BAD(r.clear_filter = MT_ALARM_FILTER_MAX + MT_US_PER_S);
    BAD(r.utc_offset_min = 841);
    BAD(r.window_start = 5);
    BAD(r.offhours = 1);
    BAD((r.has_window = 1, r.window_end = 1440));
    BAD((r.has_window = 1, r.offhours = 1));
    BAD(r.has_window = 2);
    BAD((r.cond[0].op = MT_ALARM_GT, r.cond[0].b = 1));
#undef BAD
}

/* ---- evaluator --------------------------------------------------------------- */

static void alarm_range_including_thresholds_alarms_at_equality(void)
{
    static const double ts[] = {0, 1, 2, 3, 4, 5, 6};
    static const double v[] = {15, 10, 15, 20, 15, 9.999, 20.001};
    T_EVENTS("CH1 OUTSIDE [10, 20]", ts, v, NULL, "R@1 C@2 R@3 C@4 R@5");
    T_EVENTS("CH1 OUTSIDE (10, 20)", ts, v, NULL, "R@5");
}

static void alarm_comparisons_at_equality(void)
{
    static const double ts[] = {0, 1, 2, 3};
    static const double v[] = {4.999, 5, 5.000001, 4.999};
    T_EVENTS("CH1 > 5", ts, v, NULL, "R@2 C@3");
    T_EVENTS("CH1 >= 5", ts, v, NULL, "R@1 C@3");
    T_EVENTS("CH1 <= 5", ts, v, NULL, "R@0 C@2 R@3");
    T_EVENTS("CH1 < 5", ts, v, NULL, "R@0 C@1 R@3");
}

static void alarm_filter_equal_to_row_spacing_raises_at_second_row(void)
{
    static const double ts[] = {0, 60, 120};
    static const double v[] = {1, 1, 1};
    static const double ts30[] = {0, 30, 60, 90};
    static const double v30[] = {1, 1, 1, 1};
    static const double tsb[] = {0, 30, 60, 90, 120};
    static const double vb[] = {1, 0, 1, 1, 1};
    T_EVENTS("CH1 > 0 FOR 60s", ts, v, NULL, "R@60");
    T_EVENTS("CH1 > 0 FOR 1m", ts30, v30, NULL, "R@60");
    T_EVENTS("CH1 > 0 FOR 61s", ts, v, NULL, "R@120");
    T_EVENTS("CH1 > 0", ts, v, NULL, "R@0");
    /* a false row restarts the filter */
    T_EVENTS("CH1 > 0 FOR 60s", tsb, vb, NULL, "R@120");
}

static void alarm_clear_filter_is_separate_from_raise_filter(void)
{
    static const double ts[] = {0, 10, 20, 30, 40, 50, 60, 70};
    static const double v[] = {1, 1, 0, 0, 0, 0, 1, 1};
    T_EVENTS("CH1 > 0 FOR 10s CLEAR 30s", ts, v, NULL, "R@10 C@50 R@70");
    T_EVENTS("CH1 > 0 FOR 10s", ts, v, NULL, "R@10 C@30 R@70");
    T_EVENTS("CH1 > 0 CLEAR 20s", ts, v, NULL, "R@0 C@40 R@60");
    T_EVENTS("CH1 > 0 FOR 30s CLEAR 0s", ts, v, NULL, "");
}

static void alarm_hysteresis_keeps_alarm_near_threshold(void)
{
    static const double ts[] = {0, 1, 2, 3, 4, 5, 6};
    static const double v[] = {29, 31, 29, 28.5, 28, 29.9, 30.1};
    static const double tr[] = {0, 1, 2, 3, 4, 5, 6, 7};
    static const double vr[] = {10, 10.5, 11, 11.5, 19, 20, 19, 18.9};
    static const double tl[] = {0, 1, 2};
    static const double vl[] = {-0.5, 0.5, 1};
    T_EVENTS("CH1 > 30 HYST 2", ts, v, NULL, "R@1 C@4 R@6");
    T_EVENTS("CH1 >= 30 HYST 2", ts, v, NULL, "R@1"); /* stays while v >= 28 */
    T_EVENTS("CH1 > 30", ts, v, NULL, "R@1 C@2 R@6");
    T_EVENTS("CH1 OUTSIDE [10, 20] HYST 1", tr, vr, NULL, "R@0 C@3 R@5 C@7");
    T_EVENTS("CH1 OUTSIDE (10, 20) HYST 1", tr, vr, NULL, "");
    T_EVENTS("CH1 < 0 HYST 1", tl, vl, NULL, "R@0 C@2");
    T_EVENTS("CH1 <= 0 HYST 1", tl, vl, NULL, "R@0");
}

static void alarm_window_crossing_midnight_with_utc_offset(void)
{
    /* 22:00-06:00 at +08:00 is 14:00-22:00 UTC. */
    static const double ts[] = {13 * HOUR + 59 * MIN, 14 * HOUR, 14 * HOUR + MIN,
                                21 * HOUR + 59 * MIN,
                                22 * HOUR, 24 * HOUR + 13 * HOUR + 59 * MIN, 24 * HOUR + 14 * HOUR};
    static const double v[] = {1, 1, 0, 0, 1, 1, 1};
    /* 08:00-18:00 at -05:00 is 13:00-23:00 UTC */
    static const double ts2[] = {12 * HOUR + 59 * MIN, 13 * HOUR, 13 * HOUR + 1, 23 * HOUR - 1,
                                 23 * HOUR};
    static const double v2[] = {1, 1, 0, 1, 1};
    T_EVENTS("CH1 > 0 DURING 22:00-06:00 TZ +08:00", ts, v, NULL, "R@50400 C@50460 R@136800");
    T_EVENTS("CH1 > 0 OFFHOURS DURING 22:00-06:00 TZ +08:00", ts, v, NULL,
             "R@50340 C@50460 R@79200");
    T_EVENTS("CH1 > 0 DURING 08:00-18:00 TZ -05:00", ts2, v2, NULL, "R@46800 C@46801 R@82799");
    T_EVENTS("CH1 > 0 DURING 08:00-08:00", ts2, v2, NULL, "R@46740 C@46801 R@82799");
}

static void alarm_leaving_window_resets_pending_but_clears_normally(void)
{
    static const double ts[] = {17 * HOUR + 58 * MIN, 17 * HOUR + 59 * MIN, 18 * HOUR,
                                24 * HOUR + 8 * HOUR, 24 * HOUR + 8 * HOUR + MIN,
                                24 * HOUR + 8 * HOUR + 2 * MIN};
    static const double v[] = {1, 1, 1, 1, 1, 1};
    static const double tc[] = {17 * HOUR + 59 * MIN, 18 * HOUR + 30 * MIN, 18 * HOUR + 31 * MIN};
    static const double vc[] = {1, 1, 0};
    T_EVENTS("CH1 > 0 FOR 2m DURING 08:00-18:00", ts, v, NULL, "R@115320");
    T_EVENTS("CH1 > 0 DURING 08:00-18:00", tc, vc, NULL, "R@64740 C@66660");
}

static void alarm_offhours_is_active_outside_the_window(void)
{
    static const double ts[] = {12 * HOUR, 18 * HOUR - 1, 18 * HOUR, 24 * HOUR + 7 * HOUR,
                                24 * HOUR + 8 * HOUR, 24 * HOUR + 9 * HOUR};
    static const double v[] = {2000, 2000, 2000, 0, 2000, 0};
    T_EVENTS("CH2 >= 1e3 OFFHOURS DURING 08:00-18:00", ts, NULL, v, "R@64800 C@111600");
    T_EVENTS("CH2 >= 1e3 DURING 08:00-18:00", ts, NULL, v, "R@43200 C@111600 R@115200 C@118800");
}

static void alarm_and_or_combine_two_channels(void)
{
    static const double ts[] = {0, 1, 2, 3, 4};
    static const double v1[] = {31, 31, 29, 31, 29};
    static const double v2[] = {6, 5, 5, 4, 6};
    T_EVENTS("CH1 > 30 AND CH2 <= 5", ts, v1, v2, "R@1 C@2 R@3 C@4");
    T_EVENTS("CH1 > 30 OR CH2 <= 5", ts, v1, v2, "R@0 C@4");
    T_EVENTS("CH2 <= 5 AND CH1 > 30", ts, v1, v2, "R@1 C@2 R@3 C@4");
    T_EVENTS("CH1 > 30 OR CH1 < 0", ts, v1, NULL, "R@0 C@2 R@3 C@4");
}

static void alarm_special_values_emit_events_and_reset_timers(void)
{
    static const double ts[] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    double v1[11], v2[11];
    static const double num1[] = {1, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0};
    size_t i;
    for (i = 0; i < 11; i++) {
        v1[i] = num1[i];
        v2[i] = 1;
    }
    v1[1] = MISS;
    v1[5] = mt_sv_value(MT_SV_BREAK);
    v1[6] = INFINITY;
    v2[7] = MISS;
    v2[8] = 0;
    v2[9] = 0;
    v2[10] = 0;
    v1[8] = 0;
    T_EVENTS("CH1 > 0 AND CH2 > 0 FOR 20s", ts, v1, v2,
             "S1:missing@10 E1:missing@20 R@40 S1:break@50 S1:+over@60 E1:+over@70 "
             "S2:missing@70 E2:missing@80 C@100");
    /* a special never raises, even where NaN comparisons would */
    v1[1] = NAN;
    T_EVENTS("CH1 < 1 FOR 0s", ts, v1, NULL,
             "S1:error@10 E1:error@20 S1:break@50 S1:+over@60 E1:+over@70 R@80");
}

static void alarm_special_on_unused_channel_is_ignored(void)
{
    static const double ts[] = {0, 1};
    static const double v1[] = {1, 0};
    double v2[2];
    v2[0] = MISS;
    v2[1] = MISS;
    T_EVENTS("CH1 > 0", ts, v1, v2, "R@0 C@1");
}

static void alarm_feed_rejects_bad_arguments(void)
{
    mt_alarm *a = new_rule("CH1 > 0 AND CH2 > 0");
    mt_alarm_event ev[4];
    mt_time t[2] = {0, 1};
    double v[2] = {1, 1};
    size_t n_ev = 9, used = 9;
    mt_error err;
    T_TRUE(a != NULL);
    T_ERR(mt_alarm_feed(a, t, v, NULL, 2, ev, 4, &n_ev, &used, &err), MT_EINVAL);
    T_EQ_INT(n_ev, 0);
    T_ERR(mt_alarm_feed(a, t, v, v, 2, ev, 2, &n_ev, &used, &err), MT_EINVAL);
    T_ERR(mt_alarm_feed(a, NULL, v, v, 2, ev, 4, &n_ev, &used, &err), MT_EINVAL);
    T_ERR(mt_alarm_feed(NULL, t, v, v, 2, ev, 4, &n_ev, &used, &err), MT_EINVAL);
    T_ERR(mt_alarm_feed(a, t, v, v, 2, NULL, 4, &n_ev, &used, &err), MT_EINVAL);
    T_OK_E(mt_alarm_feed(a, NULL, NULL, NULL, 0, ev, 4, &n_ev, &used, &err), &err);
    T_EQ_INT(mt_alarm_is_raised(a), 0);
    mt_alarm_free(a);
    T_ERR(mt_alarm_new(NULL, &a, &err), MT_EINVAL);
    T_TRUE(a == NULL);
}

static void alarm_out_of_order_row_changes_nothing(void)
{
    mt_alarm *a = new_rule("CH1 > 0 FOR 10s");
    mt_alarm_event ev[8];
    mt_time t[5] = {0, 10 * MT_US_PER_S, 20 * MT_US_PER_S, 15 * MT_US_PER_S, 30 * MT_US_PER_S};
    double v[5] = {1, 1, 0, 1, 1};
    uint8_t before[MT_ALARM_STATE_SIZE], after[MT_ALARM_STATE_SIZE];
    size_t n_ev = 9, used = 9;
    mt_error err;
    T_TRUE(a != NULL);
    T_OK(mt_alarm_save(a, before, sizeof before, NULL, &err));
    /* the raise at row 1 is rolled back with the rest of the call */
    T_ERR(mt_alarm_feed(a, t, v, NULL, 5, ev, 8, &n_ev, &used, &err), MT_EORDER);
    T_EQ_INT(err.pos, 3);
    T_EQ_INT(n_ev, 0);
    T_EQ_INT(used, 0);
    T_EQ_INT(mt_alarm_is_raised(a), 0);
    T_OK(mt_alarm_save(a, after, sizeof after, NULL, &err));
    T_TRUE(memcmp(before, after, sizeof before) == 0);
    /* across calls: a row earlier than the last one fed */
    T_OK_E(mt_alarm_feed(a, t, v, NULL, 3, ev, 8, &n_ev, &used, &err), &err);
    T_EQ_INT(n_ev, 1);
    T_ERR(mt_alarm_feed(a, t + 3, v + 3, NULL, 2, ev, 8, &n_ev, &used, &err), MT_EORDER);
    T_EQ_INT(err.pos, 0);
    /* equal times are in order */
    T_OK_E(mt_alarm_feed(a, t + 2, v + 2, NULL, 1, ev, 8, &n_ev, &used, &err), &err);
    mt_alarm_reset(a);
    T_OK_E(mt_alarm_feed(a, t + 3, v + 3, NULL, 2, ev, 8, &n_ev, &used, &err), &err);
    T_EQ_INT(n_ev, 1);
    mt_alarm_free(a);
}

static void alarm_full_event_buffer_returns_enospace_and_resumes(void)
{
    enum { N = 1000 };
    mt_alarm *a = new_rule("CH1 > 0");
    mt_time t[N];
    double v[N];
    mt_alarm_event ev[5];
    size_t i, done = 0, n_calls = 0, n_total = 0;
    mt_error err;
    T_TRUE(a != NULL);
    for (i = 0; i < N; i++) {
        t[i] = (mt_time)i * MT_US_PER_S;
        v[i] = (double)(i % 2);
    }
    while (done < N) {
        size_t n_ev = 0, used = 0;
        mt_status st = mt_alarm_feed(a, t + done, v + done, NULL, N - done, ev, 5, &n_ev, &used,
                                     &err);
        T_TRUE(st == MT_OK || st == MT_ENOSPACE);
        T_TRUE(n_ev >= 1 || st == MT_OK);
        for (i = 0; i < n_ev; i++) {
            T_EQ_INT(ev[i].kind, (n_total + i) % 2 ? MT_ALARM_EV_CLEAR : MT_ALARM_EV_RAISE);
            T_EQ_INT(ev[i].t, t[done + ev[i].row]);
        }
        n_total += n_ev;
        done += used;
        T_TRUE(++n_calls < N);
    }
    T_EQ_INT(n_total, N - 1);
    mt_alarm_free(a);
}

static void alarm_event_carries_values(void)
{
    mt_alarm *a = new_rule("CH2 > 0");
    mt_time t[1] = {5};
    double v2[1] = {2.5};
    mt_alarm_event ev[3];
    size_t n_ev, used;
    mt_error err;
    T_TRUE(a != NULL);
    T_OK_E(mt_alarm_feed(a, t, NULL, v2, 1, ev, 3, &n_ev, &used, &err), &err);
    T_EQ_INT(n_ev, 1);
    T_EQ_INT(ev[0].kind, MT_ALARM_EV_RAISE);
    T_EQ_INT(ev[0].channel, 0);
    T_EQ_INT(ev[0].t, 5);
    T_EQ_INT(ev[0].row, 0);
    T_SAME_DOUBLE(ev[0].v[0], MISS);
    T_SAME_DOUBLE(ev[0].v[1], 2.5);
    T_EQ_INT(mt_alarm_is_raised(a), 1);
    mt_alarm_free(a);
}

/* A long pseudo-random run through every feeding mode: the fast scan and the
 * per-row path must agree with each other. */
static void alarm_modes_agree_on_random_data(void)
{
    enum { N = 400 };
    static const char *const rules[] = {
        "CH1 > 0.5 AND CH2 <= 0.5 FOR 30s CLEAR 50s HYST 0.1 DURING 22:00-02:00 TZ +01:00",
        "CH1 OUTSIDE (0.2, 0.8) OR CH2 OUTSIDE [0.1, 0.9] FOR 20s OFFHOURS DURING 01:00-23:00",
        "CH2 < 0.3 CLEAR 1m",
    };
    double ts[N], v1[N], v2[N];
    uint32_t x = 12345;
    size_t i, k;
    double tcur = 0;
    for (i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        tcur += (x >> 16) % 4 == 0 ? 0 : (double)((x >> 8) % 1200);
        ts[i] = tcur;
        x = x * 1103515245u + 12345u;
        v1[i] = (x >> 8) % 50 == 0 ? MISS : (double)((x >> 8) % 1000) / 1000.0;
        x = x * 1103515245u + 12345u;
        v2[i] = (x >> 8) % 70 == 0 ? mt_sv_value(MT_SV_BREAK) : (double)((x >> 8) % 1000) / 1000.0;
    }
    for (k = 0; k < N_OF(rules); k++) {
        char got[8192];
        size_t n_r = 0;
        T_TRUE(run(rules[k], ts, v1, v2, N, got, sizeof got));
        for (i = 0; got[i]; i++) {
            n_r += got[i] == 'R';
        }
        if (n_r < 1) {
            T_FAIL("rule %zu raised only %zu times: %s", k, n_r, got);
        }
    }
}

/* ---- saved state ------------------------------------------------------------- */

static mt_alarm *alarm_with_state(uint8_t blob[MT_ALARM_STATE_SIZE])
{
    mt_alarm *a = new_rule("CH1 > 0 AND CH2 > 0 FOR 1m");
    mt_time t[2] = {100, 200};
    double v1[2] = {1, 1}, v2[2] = {1, 1};
    mt_alarm_event ev[4];
    size_t n_ev, used;
    if (!a || mt_alarm_feed(a, t, v1, v2, 2, ev, 4, &n_ev, &used, NULL) != MT_OK ||
        mt_alarm_save(a, blob, MT_ALARM_STATE_SIZE, NULL, NULL) != MT_OK) {
        mt_alarm_free(a);
        return NULL;
    }
    return a;
}

static void reseal(uint8_t *blob)
{
    uint32_t h = XXH32(blob, 36, 0);
    blob[36] = (uint8_t)h;
    blob[37] = (uint8_t)(h >> 8);
    blob[38] = (uint8_t)(h >> 16);
    blob[39] = (uint8_t)(h >> 24);
}

static void alarm_restore_rejects_every_truncation(void)
{
    uint8_t blob[MT_ALARM_STATE_SIZE], other[MT_ALARM_STATE_SIZE];
    mt_alarm *a = alarm_with_state(blob);
    size_t len;
    mt_error err;
    T_TRUE(a != NULL);
    for (len = 0; len < MT_ALARM_STATE_SIZE; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
        mt_status st;
        T_TRUE(copy != NULL);
        memcpy(copy, blob, len);
        st = mt_alarm_restore(a, copy, len, &err);
        free(copy);
        T_EQ_INT(st, MT_ETRUNC);
        T_EQ_INT(err.pos, len);
    }
    T_OK(mt_alarm_save(a, other, sizeof other, NULL, &err));
    T_TRUE(memcmp(blob, other, sizeof blob) == 0); /* unchanged by the failures */
    mt_alarm_free(a);
}

static void alarm_restore_rejects_corrupt_and_foreign_blobs(void)
{
    uint8_t blob[MT_ALARM_STATE_SIZE], bad[MT_ALARM_STATE_SIZE + 1];
    mt_alarm *a = alarm_with_state(blob), *b = new_rule("CH1 > 0 AND CH2 > 0 FOR 2m");
    size_t i;
    int bit;
    mt_error err;
    T_TRUE(a != NULL && b != NULL);
    /* every single-bit flip is caught */
    for (i = 0; i < MT_ALARM_STATE_SIZE; i++) {
        for (bit = 0; bit < 8; bit++) {
            memcpy(bad, blob, sizeof blob);
            bad[i] ^= (uint8_t)(1u << bit);
            T_TRUE(mt_alarm_restore(a, bad, MT_ALARM_STATE_SIZE, &err) != MT_OK);
        }
    }
#define CASE(stmt, code, at)                                          \
    do {                                                              \
        memcpy(bad, blob, sizeof blob);                               \
        stmt;                                                         \
        T_ERR(mt_alarm_restore(a, bad, MT_ALARM_STATE_SIZE, &err), code); \
        T_EQ_INT(err.pos, at);                                        \
    } while (0)
    CASE(bad[0] = 'X', MT_EFORMAT, 0);
    CASE((bad[4] = 2, reseal(bad)), MT_EVERSION, 4);
    CASE(bad[4] = 0, MT_EVERSION, 4);
    CASE((bad[6] = 41, reseal(bad)), MT_ECORRUPT, 6);
    CASE(bad[20] ^= 1, MT_ECHECKSUM, 36);
    CASE((bad[32] |= 8, reseal(bad)), MT_ECORRUPT, 32);
    CASE((bad[33] = 1, reseal(bad)), MT_ECORRUPT, 32); /* pending + special run */
    CASE((bad[32] = 4, bad[16] = 0, bad[33] = 6, reseal(bad)), MT_ECORRUPT, 33);
    CASE((bad[32] = 4, bad[33] = 1, reseal(bad)), MT_ECORRUPT, 16); /* since set, not pending */
    CASE((bad[35] = 1, reseal(bad)), MT_ECORRUPT, 35);
    CASE((bad[32] = 0, reseal(bad)), MT_ECORRUPT, 32);
    CASE((bad[31] = 0x80, reseal(bad)), MT_ECORRUPT, 16); /* since > last_t */
#undef CASE
    memcpy(bad, blob, sizeof blob);
    bad[MT_ALARM_STATE_SIZE] = 0;
    T_ERR(mt_alarm_restore(a, bad, MT_ALARM_STATE_SIZE + 1, &err), MT_ECORRUPT);
    T_EQ_INT(err.pos, MT_ALARM_STATE_SIZE);
    /* a state saved for another rule */
    T_ERR(mt_alarm_restore(b, blob, MT_ALARM_STATE_SIZE, &err), MT_EINVAL);
    T_EQ_INT(err.pos, 8);
    T_ERR(mt_alarm_restore(a, NULL, 4, &err), MT_EINVAL);
    T_ERR(mt_alarm_save(a, bad, MT_ALARM_STATE_SIZE - 1, NULL, &err), MT_ENOSPACE);
    /* the original still restores */
    T_OK_E(mt_alarm_restore(a, blob, MT_ALARM_STATE_SIZE, &err), &err);
    mt_alarm_free(a);
    mt_alarm_free(b);
}

static void alarm_state_blob_is_stable(void)
{
    /* Golden bytes of format version 1, little-endian: a pending raise since
     * t = 100 µs, last row at 200 µs. */
    uint8_t blob[MT_ALARM_STATE_SIZE];
    mt_alarm *a = alarm_with_state(blob);
    static const uint8_t head[8] = {'M', 'T', 'A', 'L', 1, 0, 40, 0};
    static const uint8_t body[20] = {100, 0, 0, 0, 0, 0, 0, 0, 200, 0,
                                     0,   0, 0, 0, 0, 0, 6, 0,   0, 0};
    T_TRUE(a != NULL);
    T_TRUE(memcmp(blob, head, 8) == 0);
    T_TRUE(memcmp(blob + 16, body, 20) == 0);
    mt_alarm_free(a);
}

static void alarm_new_survives_allocation_failures(void)
{
    mt_alarm_rule r;
    mt_error err;
    long n;
    T_OK_E(mt_alarm_parse("CH1 > 1 AND CH2 < 2 FOR 1m", 26, &r, &err), &err);
    for (n = 1; n < 10; n++) {
        mt_alarm *a = NULL;
        mt_status st;
        mt__fault_fail_nth(n);
        st = mt_alarm_new(&r, &a, &err);
        if (!mt__fault_fired()) {
            mt__fault_fail_nth(0);
            T_OK_E(st, &err);
            mt_alarm_free(a);
            break;
        }
        mt__fault_fail_nth(0);
        T_EQ_INT(st, MT_ENOMEM);
        T_TRUE(a == NULL);
    }
    T_TRUE(n < 10);
    mt_alarm_free(NULL);
}

void suite_alarm(void)
{
    T_RUN(alarm_parse_reports_error_positions);
    T_RUN(alarm_parse_rejects_null_and_long_text);
    T_RUN(alarm_parse_fills_rule_fields);
    T_RUN(alarm_print_parse_round_trips);
    T_RUN(alarm_print_reports_space_and_invalid_rules);
    T_RUN(alarm_rule_check_rejects_bad_fields);
    T_RUN(alarm_range_including_thresholds_alarms_at_equality);
    T_RUN(alarm_comparisons_at_equality);
    T_RUN(alarm_filter_equal_to_row_spacing_raises_at_second_row);
    T_RUN(alarm_clear_filter_is_separate_from_raise_filter);
    T_RUN(alarm_hysteresis_keeps_alarm_near_threshold);
    T_RUN(alarm_window_crossing_midnight_with_utc_offset);
    T_RUN(alarm_leaving_window_resets_pending_but_clears_normally);
    T_RUN(alarm_offhours_is_active_outside_the_window);
    T_RUN(alarm_and_or_combine_two_channels);
    T_RUN(alarm_special_values_emit_events_and_reset_timers);
    T_RUN(alarm_special_on_unused_channel_is_ignored);
    T_RUN(alarm_feed_rejects_bad_arguments);
    T_RUN(alarm_out_of_order_row_changes_nothing);
    T_RUN(alarm_full_event_buffer_returns_enospace_and_resumes);
    T_RUN(alarm_event_carries_values);
    T_RUN(alarm_modes_agree_on_random_data);
    T_RUN(alarm_restore_rejects_every_truncation);
    T_RUN(alarm_restore_rejects_corrupt_and_foreign_blobs);
    T_RUN(alarm_state_blob_is_stable);
    T_RUN(alarm_new_survives_allocation_failures);
}
