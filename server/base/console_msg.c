/* The console's screens (see console_msg.h). */
#include "console_msg.h"
#include "errtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_guard.h"
#include "utf8.h"

/* Strict UTF-8 without control characters; line feeds allowed when
 * "lines" is not NULL (then counted into it). */
static bool text_ok(const char *s, size_t len, size_t *lines)
{
    if (!utf8_valid((const unsigned char *)s, len)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n' && lines != NULL) {
            (*lines)++;
        } else if (ch < 0x20 || ch == 0x7F) {
            return false;
        }
    }
    return true;
}

static bool str_into(const cJSON *o, const char *name, char *out, size_t cap, size_t min,
                     size_t *lines)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    size_t n;
    if (!cJSON_IsString(m)) {
        return false;
    }
    n = strlen(m->valuestring);
    if (n < min || n >= cap || !text_ok(m->valuestring, n, lines)) {
        return false;
    }
    memcpy(out, m->valuestring, n + 1);
    return true;
}

static bool int_of(const cJSON *m, int lo, int hi, int *out)
{
    if (!cJSON_IsNumber(m) || !(m->valuedouble >= lo && m->valuedouble <= hi) ||
        m->valuedouble != floor(m->valuedouble)) {
        return false;
    }
    *out = (int)m->valuedouble;
    return true;
}

bool console_op_id_valid(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= CONSOLE_OP_ID_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static bool only(const cJSON *o, const char *const *names, size_t n)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, o) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) {
            known = m->string != NULL && strcmp(m->string, names[i]) == 0;
        }
        if (!known) {
            return false;
        }
    }
    return true;
}

int console_msg_parse(const char *text, size_t len, console_msg *out, char *err, size_t cap)
{
    static const char *const members[] = {"model", "serial", "screen", "measuring", "interval_s",
                                          "intervals", "page", "pages", "answer"};
    static const char *const answer_members[] = {"id", "ok", "message"};
    cJSON *root = NULL;
    const cJSON *m, *x;
    size_t at = 0, lines = 0;
    bool found = false;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (text == NULL || len == 0 || len > CONSOLE_MSG_MAX) {
        return errtext_fail(err, cap, "a console message holds 1 to %d bytes", CONSOLE_MSG_MAX);
    }
    if (json_guard(text, len, 4, &at) != JSON_GUARD_OK) {
        return errtext_fail(err, cap, "a console message nests at most 4 deep, without \\u0000");
    }
    root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root) || !only(root, members, sizeof members / sizeof members[0])) {
        errtext_fail(err, cap, "a console message is a JSON object of the documented members");
        goto out;
    }
    if (!str_into(root, "model", out->model, sizeof out->model, 1, NULL) ||
        !str_into(root, "serial", out->serial, sizeof out->serial, 1, NULL)) {
        errtext_fail(err, cap, "model and serial are texts of 1 to 32 and 1 to 64 bytes");
        goto out;
    }
    if (!str_into(root, "screen", out->screen, sizeof out->screen, 0, &lines) ||
        lines > CONSOLE_SCREEN_LINES) {
        errtext_fail(err, cap, "screen is a text of at most %d bytes and %d lines",
                     CONSOLE_SCREEN_MAX, CONSOLE_SCREEN_LINES);
        goto out;
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "measuring");
    if (!cJSON_IsBool(m)) {
        errtext_fail(err, cap, "measuring is true or false");
        goto out;
    }
    out->measuring = cJSON_IsTrue(m);
    m = cJSON_GetObjectItemCaseSensitive(root, "intervals");
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) < 1 ||
        cJSON_GetArraySize(m) > CONSOLE_INTERVALS_MAX) {
        errtext_fail(err, cap, "intervals is a list of 1 to %d intervals", CONSOLE_INTERVALS_MAX);
        goto out;
    }
    cJSON_ArrayForEach(x, m) {
        int v;
        if (!int_of(x, 1, 86400, &v) ||
            (out->n_intervals > 0 && v <= out->intervals[out->n_intervals - 1])) {
            errtext_fail(err, cap, "intervals are ascending whole seconds of 1 to 86400");
            goto out;
        }
        out->intervals[out->n_intervals++] = v;
    }
    if (!int_of(cJSON_GetObjectItemCaseSensitive(root, "interval_s"), 1, 86400,
                &out->interval_s)) {
        errtext_fail(err, cap, "interval_s is whole seconds of 1 to 86400");
        goto out;
    }
    for (size_t i = 0; i < out->n_intervals; i++) {
        found |= out->intervals[i] == out->interval_s;
    }
    if (!found) {
        errtext_fail(err, cap, "interval_s is one of intervals");
        goto out;
    }
    if (!int_of(cJSON_GetObjectItemCaseSensitive(root, "pages"), 1, 1000, &out->pages) ||
        !int_of(cJSON_GetObjectItemCaseSensitive(root, "page"), 1, out->pages, &out->page)) {
        errtext_fail(err, cap, "page is 1 to pages, pages 1 to 1000");
        goto out;
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "answer");
    if (m != NULL) {
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(m, "ok");
        if (!cJSON_IsObject(m) ||
            !only(m, answer_members, sizeof answer_members / sizeof answer_members[0]) ||
            !cJSON_IsBool(ok) ||
            !str_into(m, "id", out->answer_id, sizeof out->answer_id, 0, NULL) ||
            (out->answer_id[0] != '\0' && !console_op_id_valid(out->answer_id)) ||
            !str_into(m, "message", out->answer_msg, sizeof out->answer_msg, 0, NULL)) {
            errtext_fail(err, cap,
                         "answer is {id, ok, message}: an operation id, true or false, a "
                         "sentence of at most %d bytes",
                         CONSOLE_ANSWER_MAX);
            goto out;
        }
        out->has_answer = true;
        out->answer_ok = cJSON_IsTrue(ok);
    }
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc != 0) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

cJSON *console_msg_screen_json(const console_msg *m)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    if (o == NULL) {
        return NULL;
    }
    if (cJSON_AddStringToObject(o, "screen", m->screen) == NULL ||
        cJSON_AddBoolToObject(o, "measuring", m->measuring) == NULL ||
        cJSON_AddNumberToObject(o, "interval_s", m->interval_s) == NULL ||
        (arr = cJSON_AddArrayToObject(o, "intervals")) == NULL ||
        cJSON_AddNumberToObject(o, "page", m->page) == NULL ||
        cJSON_AddNumberToObject(o, "pages", m->pages) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    for (size_t i = 0; i < m->n_intervals; i++) {
        cJSON *v = cJSON_CreateNumber(m->intervals[i]);
        if (v == NULL || !cJSON_AddItemToArray(arr, v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

cJSON *console_msg_answer_json(const console_msg *m)
{
    cJSON *o;
    if (!m->has_answer || (o = cJSON_CreateObject()) == NULL) {
        return NULL;
    }
    if (cJSON_AddStringToObject(o, "id", m->answer_id) == NULL ||
        cJSON_AddBoolToObject(o, "ok", m->answer_ok) == NULL ||
        cJSON_AddStringToObject(o, "message", m->answer_msg) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
