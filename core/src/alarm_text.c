/* Alarm rules: validation, the text parser and the canonical printer.
 * The grammar and the semantics are documented in docs/alarm.md. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm_int.h"
#include "mt/alarm.h"

/* ---- thresholds ----------------------------------------------------------- */

/* Every condition is "v >= hi or v <= lo" over finite v: strict comparisons
 * become non-strict ones against the next double, so that the evaluator's
 * inner loop is two compares and no switch. hyst > 0 gives the thresholds
 * used while the alarm is raised, moved by "hyst" toward the safe side. */
void mt__alarm_thresholds(const mt_alarm_cond *c, double hyst, double *lo, double *hi)
{
    double a = c->a, b = c->b;
    *lo = -INFINITY;
    *hi = INFINITY;
    switch (c->op) {
    case MT_ALARM_GT:
        *hi = nextafter(a - hyst, INFINITY);
        break;
    case MT_ALARM_GE:
        *hi = a - hyst;
        break;
    case MT_ALARM_LE:
        *lo = a + hyst;
        break;
    case MT_ALARM_LT:
        *lo = nextafter(a + hyst, -INFINITY);
        break;
    case MT_ALARM_OUT_INCL:
        *lo = a + hyst;
        *hi = b - hyst;
        break;
    case MT_ALARM_OUT_EXCL:
        *lo = nextafter(a + hyst, -INFINITY);
        *hi = nextafter(b - hyst, INFINITY);
        break;
    }
}

static int value_ok(double x)
{
    return isfinite(x) && fabs(x) <= MT_ALARM_VALUE_MAX;
}

static int is_range(mt_alarm_op op)
{
    return op == MT_ALARM_OUT_INCL || op == MT_ALARM_OUT_EXCL;
}

/* Some finite value must make a range condition false, with and without the
 * hysteresis, or the alarm could never clear. Returns 0 when none does. */
static int range_leaves_safe_values(const mt_alarm_cond *c, double hyst)
{
    double lo, hi;
    mt__alarm_thresholds(c, hyst, &lo, &hi);
    return nextafter(lo, INFINITY) < hi;
}

static int filter_ok(mt_time f)
{
    return f >= 0 && f <= MT_ALARM_FILTER_MAX && f % MT_US_PER_S == 0;
}

mt_status mt_alarm_rule_check(const mt_alarm_rule *r, mt_error *err)
{
    int i;
    if (!r) {
        return mt_fail(err, MT_EINVAL, 0, "rule is NULL");
    }
    if (r->n_conds < 1 || r->n_conds > 2) {
        return mt_fail(err, MT_ERANGE, 0, "n_conds must be 1 or 2");
    }
    if ((r->n_conds == 1) != (r->join == MT_ALARM_SINGLE) ||
        (r->join != MT_ALARM_SINGLE && r->join != MT_ALARM_AND && r->join != MT_ALARM_OR)) {
        return mt_fail(err, MT_ERANGE, 0, "join must be SINGLE for one condition, AND/OR for two");
    }
    for (i = 0; i < r->n_conds; i++) {
        const mt_alarm_cond *c = &r->cond[i];
        if (c->channel != 1 && c->channel != 2) {
            return mt_fail(err, MT_ERANGE, 0, "condition %d: channel must be 1 or 2", i + 1);
        }
        if (c->op < MT_ALARM_GT || c->op > MT_ALARM_OUT_EXCL) {
            return mt_fail(err, MT_ERANGE, 0, "condition %d: unknown operator", i + 1);
        }
        if (!value_ok(c->a) || !value_ok(c->b)) {
            return mt_fail(err, MT_ERANGE, 0, "condition %d: threshold not finite or above 1e300",
                           i + 1);
        }
        if (is_range(c->op)) {
            if (!(c->a < c->b) || !range_leaves_safe_values(c, 0.0)) {
                return mt_fail(err, MT_ERANGE, 0, "condition %d: range is empty", i + 1);
            }
            if (!range_leaves_safe_values(c, r->hyst) || !(2 * r->hyst < c->b - c->a)) {
                return mt_fail(err, MT_ERANGE, 0,
                               "condition %d: HYST must be less than half the range", i + 1);
            }
        } else if (c->b != 0) {
            return mt_fail(err, MT_ERANGE, 0, "condition %d: b must be 0 for this operator",
                           i + 1);
        }
    }
    if (!value_ok(r->hyst) || r->hyst < 0) {
        return mt_fail(err, MT_ERANGE, 0, "hyst must be >= 0 and at most 1e300");
    }
    if (!filter_ok(r->raise_filter) || !filter_ok(r->clear_filter)) {
        return mt_fail(err, MT_ERANGE, 0, "filters must be whole seconds, 0 to 7 days");
    }
    if (r->utc_offset_min < -MT_ALARM_OFFSET_MAX || r->utc_offset_min > MT_ALARM_OFFSET_MAX) {
        return mt_fail(err, MT_ERANGE, 0, "utc_offset_min must be within -840..840");
    }
    if (r->has_window != 0 && r->has_window != 1) {
        return mt_fail(err, MT_ERANGE, 0, "has_window must be 0 or 1");
    }
    if (r->offhours != 0 && r->offhours != 1) {
        return mt_fail(err, MT_ERANGE, 0, "offhours must be 0 or 1");
    }
    if (!r->has_window) {
        if (r->window_start != 0 || r->window_end != 0 || r->offhours) {
            return mt_fail(err, MT_ERANGE, 0, "window fields set without a window");
        }
    } else {
        if (r->window_start < 0 || r->window_start >= 1440 || r->window_end < 0 ||
            r->window_end >= 1440) {
            return mt_fail(err, MT_ERANGE, 0, "window minutes must be within 0..1439");
        }
        if (r->offhours && r->window_start == r->window_end) {
            return mt_fail(err, MT_ERANGE, 0, "OFFHOURS with an all-day window is never active");
        }
    }
    return MT_OK;
}

/* ---- parser ---------------------------------------------------------------- */

/* A bounded cursor over the rule text (cJSON). */
struct cur {
    const char *s;
    size_t len;
    size_t off;
};

static int at_end(const struct cur *c)
{
    return c->off >= c->len;
}

static int peek(const struct cur *c)
{
    return at_end(c) ? -1 : (unsigned char)c->s[c->off];
}

static int is_space(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_word(int ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int lower(int ch)
{
    return (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch;
}

static void skip_ws(struct cur *c)
{
    while (is_space(peek(c))) {
        c->off++;
    }
}

/* Match keyword "kw" (lower case) case-insensitively at the cursor, as a
 * whole word; on a match the cursor moves past it. */
static int match_kw(struct cur *c, const char *kw)
{
    size_t n = strlen(kw), i;
    if (c->len - c->off < n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (lower((unsigned char)c->s[c->off + i]) != kw[i]) {
            return 0;
        }
    }
    if (c->off + n < c->len && is_word((unsigned char)c->s[c->off + n])) {
        return 0;
    }
    c->off += n;
    return 1;
}

static mt_status expect_char(struct cur *c, int ch, mt_error *err)
{
    skip_ws(c);
    if (peek(c) != ch) {
        return mt_fail(err, MT_ESYNTAX, c->off, "expected '%c'", ch);
    }
    c->off++;
    return MT_OK;
}

/* number := [+-] (digits [. digits*] | . digits) [(e|E) [+-] digits] */
static mt_status parse_number(struct cur *c, double *out, mt_error *err)
{
    char buf[72];
    size_t start, n_digits = 0;
    char *end = NULL;
    double x;
    skip_ws(c);
    start = c->off;
    if (peek(c) == '+' || peek(c) == '-') {
        c->off++;
    }
    while (is_digit(peek(c))) {
        c->off++;
        n_digits++;
    }
    if (peek(c) == '.') {
        c->off++;
        while (is_digit(peek(c))) {
            c->off++;
            n_digits++;
        }
    }
    if (n_digits == 0) {
        return mt_fail(err, MT_ESYNTAX, start, "expected a number");
    }
    if (peek(c) == 'e' || peek(c) == 'E') {
        c->off++;
        if (peek(c) == '+' || peek(c) == '-') {
            c->off++;
        }
        if (!is_digit(peek(c))) {
            return mt_fail(err, MT_ESYNTAX, c->off, "expected exponent digits");
        }
        while (is_digit(peek(c))) {
            c->off++;
        }
    }
    if (is_word(peek(c)) || peek(c) == '.') {
        return mt_fail(err, MT_ESYNTAX, c->off, "unexpected character after number");
    }
    if (c->off - start >= sizeof buf) {
        return mt_fail(err, MT_ELIMIT, start, "number longer than %zu characters",
                       sizeof buf - 1);
    }
    memcpy(buf, c->s + start, c->off - start);
    buf[c->off - start] = '\0';
    /* The token was checked above, so strtod() reads all of it (core runs in
     * the "C" numeric locale; see docs/alarm.md). */
    x = strtod(buf, &end);
    if (end != buf + (c->off - start) || !value_ok(x)) {
        return mt_fail(err, MT_ERANGE, start, "number out of range (|x| <= 1e300)");
    }
    *out = x + 0.0; /* -0 becomes 0 */
    return MT_OK;
}

/* dur := digits [ws] (s|m|h), at most MT_ALARM_FILTER_MAX */
static mt_status parse_duration(struct cur *c, mt_time *out, mt_error *err)
{
    size_t start, n_digits = 0;
    int64_t n = 0, unit;
    skip_ws(c);
    start = c->off;
    while (is_digit(peek(c))) {
        if (n_digits++ >= 9) {
            return mt_fail(err, MT_ERANGE, start, "duration longer than 7 days");
        }
        n = n * 10 + (peek(c) - '0');
        c->off++;
    }
    if (n_digits == 0) {
        return mt_fail(err, MT_ESYNTAX, start, "expected a duration such as 60s, 5m or 1h");
    }
    skip_ws(c);
    switch (lower(peek(c))) {
    case 's':
        unit = MT_US_PER_S;
        break;
    case 'm':
        unit = MT_US_PER_MIN;
        break;
    case 'h':
        unit = 60 * MT_US_PER_MIN;
        break;
    default:
        return mt_fail(err, MT_ESYNTAX, c->off, "expected a duration unit s, m or h");
    }
    c->off++;
    if (is_word(peek(c))) {
        return mt_fail(err, MT_ESYNTAX, c->off - 1, "expected a duration unit s, m or h");
    }
    if (n > MT_ALARM_FILTER_MAX / unit) {
        return mt_fail(err, MT_ERANGE, start, "duration longer than 7 days");
    }
    *out = n * unit;
    return MT_OK;
}

/* hhmm := d[d] ':' dd, 00:00..23:59 (24:00 allowed when "allow_24", = 0).
 * "*minutes" receives the minute of the day. */
static mt_status parse_hhmm(struct cur *c, int max_hour, int allow_24, int *minutes,
                            mt_error *err)
{
    size_t start = c->off;
    int h = 0, m = 0, n_h = 0;
    while (is_digit(peek(c)) && n_h < 2) {
        h = h * 10 + (peek(c) - '0');
        c->off++;
        n_h++;
    }
    if (n_h == 0 || peek(c) != ':') {
        return mt_fail(err, MT_ESYNTAX, n_h == 0 ? start : c->off, "expected a time HH:MM");
    }
    c->off++;
    if (!is_digit(peek(c)) || c->off + 1 >= c->len || !is_digit((unsigned char)c->s[c->off + 1])) {
        return mt_fail(err, MT_ESYNTAX, c->off, "expected two digits of minutes");
    }
    m = (c->s[c->off] - '0') * 10 + (c->s[c->off + 1] - '0');
    c->off += 2;
    if (is_word(peek(c))) {
        return mt_fail(err, MT_ESYNTAX, c->off, "unexpected character after time");
    }
    if (m > 59 || h > max_hour || (h == 24 && !(allow_24 && m == 0))) {
        return mt_fail(err, MT_ERANGE, start, "time %.*s out of range", (int)(c->off - start),
                       c->s + start);
    }
    *minutes = (h * 60 + m) % 1440;
    return MT_OK;
}

static mt_status parse_cond(struct cur *c, mt_alarm_cond *cond, mt_error *err)
{
    mt_status st;
    size_t at;
    skip_ws(c);
    at = c->off;
    if (match_kw(c, "ch1")) {
        cond->channel = 1;
    } else if (match_kw(c, "ch2")) {
        cond->channel = 2;
    } else {
        return mt_fail(err, MT_ESYNTAX, at, "expected a channel CH1 or CH2");
    }
    skip_ws(c);
    at = c->off;
    if (match_kw(c, "outside")) {
        int open;
        skip_ws(c);
        at = c->off;
        if (peek(c) != '[' && peek(c) != '(') {
            return mt_fail(err, MT_ESYNTAX, at, "expected '[' or '(' after OUTSIDE");
        }
        open = peek(c);
        c->off++;
        cond->op = open == '[' ? MT_ALARM_OUT_INCL : MT_ALARM_OUT_EXCL;
        if ((st = parse_number(c, &cond->a, err)) != MT_OK ||
            (st = expect_char(c, ',', err)) != MT_OK ||
            (st = parse_number(c, &cond->b, err)) != MT_OK ||
            (st = expect_char(c, open == '[' ? ']' : ')', err)) != MT_OK) {
            return st;
        }
        if (!(cond->a < cond->b) || !range_leaves_safe_values(cond, 0.0)) {
            return mt_fail(err, MT_ERANGE, at, "range is empty: the low bound must be below "
                                               "the high bound");
        }
        return MT_OK;
    }
    if (peek(c) == '>') {
        c->off++;
        cond->op = MT_ALARM_GT;
        if (peek(c) == '=') {
            c->off++;
            cond->op = MT_ALARM_GE;
        }
    } else if (peek(c) == '<') {
        c->off++;
        cond->op = MT_ALARM_LT;
        if (peek(c) == '=') {
            c->off++;
            cond->op = MT_ALARM_LE;
        }
    } else {
        return mt_fail(err, MT_ESYNTAX, at, "expected >, >=, <=, < or OUTSIDE");
    }
    cond->b = 0;
    return parse_number(c, &cond->a, err);
}

/* Optional clauses, each at most once, in any order. */
enum { CL_FOR, CL_CLEAR, CL_HYST, CL_OFFHOURS, CL_DURING, CL_TZ, CL_COUNT };

static mt_status parse_rule(struct cur *c, mt_alarm_rule *r, mt_error *err)
{
    static const char *const names[CL_COUNT] = {"for", "clear", "hyst", "offhours", "during", "tz"};
    size_t seen_at[CL_COUNT];
    int seen[CL_COUNT] = {0};
    mt_status st;
    int k;
    if ((st = parse_cond(c, &r->cond[0], err)) != MT_OK) {
        return st;
    }
    r->n_conds = 1;
    r->join = MT_ALARM_SINGLE;
    skip_ws(c);
    if (match_kw(c, "and") || match_kw(c, "or")) {
        r->join = lower((unsigned char)c->s[c->off - 1]) == 'd' ? MT_ALARM_AND : MT_ALARM_OR;
        r->n_conds = 2;
        if ((st = parse_cond(c, &r->cond[1], err)) != MT_OK) {
            return st;
        }
    }
    for (;;) {
        size_t at;
        skip_ws(c);
        at = c->off;
        if (at_end(c)) {
            break;
        }
        for (k = 0; k < CL_COUNT; k++) {
            if (match_kw(c, names[k])) {
                break;
            }
        }
        if (k == CL_COUNT) {
            return mt_fail(err, MT_ESYNTAX, at,
                           r->n_conds == 1 && !seen[CL_FOR] && !seen[CL_CLEAR] &&
                                   !seen[CL_HYST] && !seen[CL_OFFHOURS] && !seen[CL_DURING] &&
                                   !seen[CL_TZ]
                               ? "expected AND, OR, FOR, CLEAR, HYST, OFFHOURS, DURING, TZ or "
                                 "the end"
                               : "expected FOR, CLEAR, HYST, OFFHOURS, DURING, TZ or the end");
        }
        if (seen[k]) {
            return mt_fail(err, MT_ESYNTAX, at, "%s given twice", names[k]);
        }
        seen[k] = 1;
        seen_at[k] = at;
        switch (k) {
        case CL_FOR:
            st = parse_duration(c, &r->raise_filter, err);
            break;
        case CL_CLEAR:
            st = parse_duration(c, &r->clear_filter, err);
            break;
        case CL_HYST: {
            size_t num_at;
            skip_ws(c);
            num_at = c->off;
            st = parse_number(c, &r->hyst, err);
            if (st == MT_OK && r->hyst < 0) {
                st = mt_fail(err, MT_ERANGE, num_at, "HYST must not be negative");
            }
            break;
        }
        case CL_OFFHOURS:
            r->offhours = 1;
            break;
        case CL_DURING:
            r->has_window = 1;
            skip_ws(c);
            if ((st = parse_hhmm(c, 24, 1, &r->window_start, err)) == MT_OK &&
                (st = expect_char(c, '-', err)) == MT_OK) {
                skip_ws(c);
                st = parse_hhmm(c, 24, 1, &r->window_end, err);
            }
            break;
        case CL_TZ: {
            int sign;
            skip_ws(c);
            if (peek(c) != '+' && peek(c) != '-') {
                st = mt_fail(err, MT_ESYNTAX, c->off, "expected a UTC offset such as +08:00");
                break;
            }
            sign = peek(c) == '-' ? -1 : 1;
            c->off++;
            if ((st = parse_hhmm(c, 14, 0, &r->utc_offset_min, err)) == MT_OK) {
                if (r->utc_offset_min > MT_ALARM_OFFSET_MAX) {
                    st = mt_fail(err, MT_ERANGE, at, "UTC offset beyond 14:00");
                }
                r->utc_offset_min *= sign;
            }
            break;
        }
        }
        if (st != MT_OK) {
            return st;
        }
    }
    if (!seen[CL_CLEAR]) {
        r->clear_filter = r->raise_filter;
    }
    if (seen[CL_OFFHOURS] && !seen[CL_DURING]) {
        return mt_fail(err, MT_ERANGE, seen_at[CL_OFFHOURS], "OFFHOURS needs DURING");
    }
    if (seen[CL_OFFHOURS] && r->window_start == r->window_end) {
        return mt_fail(err, MT_ERANGE, seen_at[CL_DURING],
                       "OFFHOURS with an all-day window is never active");
    }
    if (seen[CL_HYST]) {
        for (k = 0; k < r->n_conds; k++) {
            const mt_alarm_cond *cd = &r->cond[k];
            if (is_range(cd->op) &&
                (!range_leaves_safe_values(cd, r->hyst) || !(2 * r->hyst < cd->b - cd->a))) {
                return mt_fail(err, MT_ERANGE, seen_at[CL_HYST],
                               "HYST must be less than half the range of condition %d", k + 1);
            }
        }
    }
    /* Anything the checks above missed is still caught here. */
    if ((st = mt_alarm_rule_check(r, err)) != MT_OK) {
        if (err) {
            err->pos = c->off;
        }
        return st;
    }
    return MT_OK;
}

mt_status mt_alarm_parse(const char *text, size_t len, mt_alarm_rule *out, mt_error *err)
{
    struct cur c;
    mt_status st;
    if (!out) {
        return mt_fail(err, MT_EINVAL, 0, "out is NULL");
    }
    memset(out, 0, sizeof *out);
    if (!text) {
        return mt_fail(err, MT_EINVAL, 0, "text is NULL");
    }
    if (len > MT_ALARM_TEXT_MAX) {
        return mt_fail(err, MT_ELIMIT, MT_ALARM_TEXT_MAX, "rule longer than %d bytes",
                       MT_ALARM_TEXT_MAX);
    }
    c.s = text;
    c.len = len;
    c.off = 0;
    st = parse_rule(&c, out, err);
    if (st != MT_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    mt_error_clear(err);
    return MT_OK;
}

/* ---- printer --------------------------------------------------------------- */

struct sbuf {
    char s[MT_ALARM_PRINT_MAX * 2];
    size_t len;
};

static void put(struct sbuf *b, const char *fmt, ...) MT_PRINTF(2, 3);

static void put(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(b->s + b->len, sizeof b->s - b->len, fmt, ap);
    va_end(ap);
    /* The bound in alarm.h keeps every valid rule far below sizeof b->s. */
    if (n > 0) {
        b->len += (size_t)n < sizeof b->s - b->len ? (size_t)n : sizeof b->s - b->len - 1;
    }
}

/* The shortest %g text that reads back as "x", without an exponent for
 * magnitudes from 1e-4 to 1e16 ("1000", not "1e+03"). */
static void fmt_num(double x, char out[40])
{
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(out, 40, "%.*g", p, x);
        if (strtod(out, NULL) == x) {
            break;
        }
    }
    if (strchr(out, 'e') && x != 0 && fabs(x) >= 1e-4 && fabs(x) < 1e16) {
        int exp10 = (int)floor(log10(fabs(x)));
        if (exp10 + 1 > p) {
            snprintf(out, 40, "%.*g", exp10 + 1, x);
        }
    }
}

static void put_duration(struct sbuf *b, mt_time us)
{
    if (us != 0 && us % (60 * MT_US_PER_MIN) == 0) {
        put(b, "%lldh", (long long)(us / (60 * MT_US_PER_MIN)));
    } else if (us != 0 && us % MT_US_PER_MIN == 0) {
        put(b, "%lldm", (long long)(us / MT_US_PER_MIN));
    } else {
        put(b, "%llds", (long long)(us / MT_US_PER_S));
    }
}

static void put_cond(struct sbuf *b, const mt_alarm_cond *c)
{
    static const char *const ops[] = {"", ">", ">=", "<=", "<"};
    char na[40], nb[40];
    fmt_num(c->a, na);
    if (is_range(c->op)) {
        fmt_num(c->b, nb);
        if (c->op == MT_ALARM_OUT_INCL) {
            put(b, "CH%d OUTSIDE [%s, %s]", c->channel, na, nb);
        } else {
            put(b, "CH%d OUTSIDE (%s, %s)", c->channel, na, nb);
        }
    } else {
        put(b, "CH%d %s %s", c->channel, ops[c->op], na);
    }
}

mt_status mt_alarm_print(const mt_alarm_rule *r, char *buf, size_t cap, size_t *out_len,
                         mt_error *err)
{
    struct sbuf b;
    mt_status st;
    if (out_len) {
        *out_len = 0;
    }
    if (!buf) {
        return mt_fail(err, MT_EINVAL, 0, "buf is NULL");
    }
    if ((st = mt_alarm_rule_check(r, err)) != MT_OK) {
        if (err) {
            err->code = MT_EINVAL; /* an invalid rule is a bad argument here */
        }
        return MT_EINVAL;
    }
    b.len = 0;
    b.s[0] = '\0';
    put_cond(&b, &r->cond[0]);
    if (r->n_conds == 2) {
        put(&b, r->join == MT_ALARM_AND ? " AND " : " OR ");
        put_cond(&b, &r->cond[1]);
    }
    if (r->raise_filter != 0) {
        put(&b, " FOR ");
        put_duration(&b, r->raise_filter);
    }
    if (r->clear_filter != r->raise_filter) {
        put(&b, " CLEAR ");
        put_duration(&b, r->clear_filter);
    }
    if (r->hyst != 0) {
        char nh[40];
        fmt_num(r->hyst, nh);
        put(&b, " HYST %s", nh);
    }
    if (r->offhours) {
        put(&b, " OFFHOURS");
    }
    if (r->has_window) {
        put(&b, " DURING %02d:%02d-%02d:%02d", r->window_start / 60, r->window_start % 60,
            r->window_end / 60, r->window_end % 60);
    }
    if (r->utc_offset_min != 0) {
        int off = r->utc_offset_min < 0 ? -r->utc_offset_min : r->utc_offset_min;
        put(&b, " TZ %c%02d:%02d", r->utc_offset_min < 0 ? '-' : '+', off / 60, off % 60);
    }
    if (out_len) {
        *out_len = b.len;
    }
    if (cap <= b.len) {
        return mt_fail(err, MT_ENOSPACE, 0, "rule text needs %zu bytes", b.len + 1);
    }
    memcpy(buf, b.s, b.len + 1);
    mt_error_clear(err);
    return MT_OK;
}
