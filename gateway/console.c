/* The console of a simulated instrument (see console.h). */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include "console.h"
#include "errtext.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mt/types.h"
#include "state.h"

static const int intervals[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600};

const int *gw_console_intervals(size_t *n)
{
    *n = sizeof intervals / sizeof intervals[0];
    return intervals;
}

bool gw_console_interval_ok(int s)
{
    for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
        if (intervals[i] == s) {
            return true;
        }
    }
    return false;
}

static const struct {
    const char *name;
    gw_console_kind kind;
} ops[] = {{"watch", GW_CON_WATCH},       {"start", GW_CON_START},
           {"stop", GW_CON_STOP},         {"restart", GW_CON_RESTART},
           {"interval", GW_CON_INTERVAL}, {"page_up", GW_CON_PAGE_UP},
           {"page_down", GW_CON_PAGE_DOWN}};

static bool id_valid(const char *s)
{
    size_t n = strlen(s);
    return n <= GW_CONSOLE_ID_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* A string member into "out" ("cap" bytes) that "ok" accepts. */
static bool take_str(const cJSON *o, const char *name, char *out, size_t cap, bool need,
                     int (*ok)(const char *))
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    out[0] = '\0';
    if (m == NULL) {
        return !need;
    }
    if (!cJSON_IsString(m) || strlen(m->valuestring) >= cap ||
        (ok != NULL && !ok(m->valuestring))) {
        return false;
    }
    memcpy(out, m->valuestring, strlen(m->valuestring) + 1);
    return true;
}

static int serial_ok(const char *s)
{
    return gw_text_valid(s, 1, GW_SERIAL_MAX);
}

static int model_ok(const char *s)
{
    return gw_text_valid(s, 1, GW_MODEL_MAX);
}

int gw_console_parse(const char *text, size_t len, gw_console_op *out, char *err, size_t cap)
{
    static const char *const members[] = {"op", "id", "model", "serial", "interval_s"};
    cJSON *root = NULL;
    const cJSON *m;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (text == NULL || len == 0 || len > GW_CONSOLE_OP_MAX) {
        return errtext_fail(err, cap, "a console operation holds 1 to %u bytes", GW_CONSOLE_OP_MAX);
    }
    root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        errtext_fail(err, cap, "a console operation is a JSON object");
        goto out;
    }
    cJSON_ArrayForEach(m, root) {
        bool known = false;
        for (size_t i = 0; i < sizeof members / sizeof members[0] && !known; i++) {
            known = m->string != NULL && strcmp(m->string, members[i]) == 0;
        }
        if (!known) {
            errtext_fail(err, cap, "a console operation has no member \"%.40s\"",
                         m->string != NULL ? m->string : "");
            goto out;
        }
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "op");
    for (size_t i = 0; cJSON_IsString(m) && i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(m->valuestring, ops[i].name) == 0) {
            out->kind = ops[i].kind;
        }
    }
    if (out->kind == 0) {
        errtext_fail(err, cap, "op is not a console operation");
        goto out;
    }
    if (!take_str(root, "model", out->model, sizeof out->model, true, model_ok) ||
        !take_str(root, "serial", out->serial, sizeof out->serial, true, serial_ok)) {
        errtext_fail(err, cap,
                     "model and serial name the instrument (printable, at most %d and %d "
                     "characters)",
                     GW_MODEL_MAX, GW_SERIAL_MAX);
        goto out;
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (m != NULL && (!cJSON_IsString(m) || !id_valid(m->valuestring))) {
        errtext_fail(err, cap, "id is at most %d letters, digits and dashes", GW_CONSOLE_ID_MAX);
        goto out;
    }
    if (m != NULL) {
        memcpy(out->id, m->valuestring, strlen(m->valuestring) + 1);
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "interval_s");
    if (out->kind == GW_CON_INTERVAL) {
        if (!cJSON_IsNumber(m) || !(m->valuedouble >= 1 && m->valuedouble <= 3600) ||
            m->valuedouble != floor(m->valuedouble) ||
            !gw_console_interval_ok((int)m->valuedouble)) {
            errtext_fail(err, cap, "interval_s is one of the instrument's intervals (1 to 3600 s)");
            goto out;
        }
        out->interval_s = (int)m->valuedouble;
    } else if (m != NULL) {
        errtext_fail(err, cap, "interval_s belongs to the interval operation only");
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

size_t gw_console_pages(const gw_instrument *ins)
{
    size_t n = (ins->n_ch + GW_CONSOLE_PAGE_ROWS - 1) / GW_CONSOLE_PAGE_ROWS;
    return n > 0 ? n : 1;
}

/* "src" cut to at most "max" bytes at a UTF-8 character boundary into "out". */
static void fit(const char *src, size_t max, char *out)
{
    size_t n = strlen(src);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(out, src, n);
    out[n] = '\0';
}

static void value_text(double v, char *out, size_t cap)
{
    switch (mt_sv_kind(v)) {
    case MT_SV_NONE:
        snprintf(out, cap, "%.6g", v);
        break;
    case MT_SV_OVER_POS:
        snprintf(out, cap, "+OVER");
        break;
    case MT_SV_OVER_NEG:
        snprintf(out, cap, "-OVER");
        break;
    case MT_SV_BREAK:
        snprintf(out, cap, "BURNOUT");
        break;
    case MT_SV_ERROR:
        snprintf(out, cap, "ERROR");
        break;
    default:
        snprintf(out, cap, "-----");
        break;
    }
}

/* Append one line; false (nothing written) when it does not fit. */
static bool line(char *out, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool line(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    char buf[256];
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf || *len + (size_t)n + 2 > cap) {
        return false;
    }
    memcpy(out + *len, buf, (size_t)n);
    *len += (size_t)n;
    out[(*len)++] = '\n';
    out[*len] = '\0';
    return true;
}

size_t gw_console_screen(const gw_instrument *ins, const gw_console_view *v,
                         const double *values, int64_t now_s, char *out, size_t cap)
{
    char model[GW_MODEL_MAX + 1], serial[24], when[32], since[16], name[28], val[24], unit[12];
    size_t len = 0, pages = gw_console_pages(ins), page = v->page < pages ? v->page : pages - 1;
    time_t t = (time_t)now_s, s0 = (time_t)v->started_s;
    struct tm tm;
    if (cap == 0) {
        return 0;
    }
    out[0] = '\0';
    fit(ins->model, GW_MODEL_MAX, model);
    fit(ins->serial, 20, serial);
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    gmtime_r(&s0, &tm);
    strftime(since, sizeof since, "%H:%M:%S", &tm);
    line(out, cap, &len, "%-12s S/N %s", model, serial);
    line(out, cap, &len, "Firmware %-8s %s", ins->firmware, when);
    if (v->busy != NULL) {
        line(out, cap, &len, "BUSY      %.48s", v->busy);
    } else if (v->measuring) {
        line(out, cap, &len, "MEASURING run %lld since %s UTC", (long long)v->run, since);
    } else {
        line(out, cap, &len, "STOPPED   run %lld started %s UTC", (long long)v->run, since);
    }
    line(out, cap, &len, "Interval  %d s%*sPage %zu/%zu", v->interval_s,
         v->interval_s < 10 ? 20 : v->interval_s < 100 ? 19 : v->interval_s < 1000 ? 18 : 17,
         "", page + 1, pages);
    line(out, cap, &len, "------------------------------------------------------");
    for (size_t i = page * GW_CONSOLE_PAGE_ROWS;
         i < ins->n_ch && i < (page + 1) * GW_CONSOLE_PAGE_ROWS; i++) {
        fit(ins->ch[i].name, 24, name);
        fit(ins->ch[i].unit, 8, unit);
        if (v->measuring && v->busy == NULL) {
            value_text(values[i], val, sizeof val);
        } else {
            snprintf(val, sizeof val, "-----");
        }
        if (!line(out, cap, &len, "%-8.8s %-24s %10s %s", ins->ch[i].key, name, val, unit)) {
            break;
        }
    }
    return len;
}

char *gw_console_message(const gw_instrument *ins, const gw_console_view *v, const char *screen,
                         const char *answer_id, bool answer_ok, const char *answer_msg,
                         size_t *len)
{
    cJSON *o = cJSON_CreateObject(), *arr, *ans;
    size_t n_iv = 0;
    const int *iv = gw_console_intervals(&n_iv);
    char *text = NULL;
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddStringToObject(o, "model", ins->model);
    cJSON_AddStringToObject(o, "serial", ins->serial);
    cJSON_AddStringToObject(o, "screen", screen);
    cJSON_AddBoolToObject(o, "measuring", v->measuring);
    cJSON_AddNumberToObject(o, "interval_s", v->interval_s);
    arr = cJSON_AddArrayToObject(o, "intervals");
    for (size_t i = 0; arr != NULL && i < n_iv; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(iv[i]));
    }
    cJSON_AddNumberToObject(o, "page", (double)v->page + 1);
    cJSON_AddNumberToObject(o, "pages", (double)gw_console_pages(ins));
    if (answer_id != NULL) {
        ans = cJSON_AddObjectToObject(o, "answer");
        if (ans != NULL) {
            cJSON_AddStringToObject(ans, "id", answer_id);
            cJSON_AddBoolToObject(ans, "ok", answer_ok);
            cJSON_AddStringToObject(ans, "message", answer_msg != NULL ? answer_msg : "");
        }
    }
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text != NULL && strlen(text) > GW_CONSOLE_MSG_MAX) {
        free(text);
        return NULL;
    }
    if (text != NULL) {
        *len = strlen(text);
    }
    return text;
}
