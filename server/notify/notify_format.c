/* Payloads and answers of the channels (notify_format.h). */
#define _XOPEN_SOURCE 700 /* strptime */
#define _DEFAULT_SOURCE /* timegm */
#include "notify_format.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --------------------------------------------------------------- helpers */

static const struct {
    const char *lang, *label;
} link_labels[] = {
    {"zh-CN", "在 Metron 中打开"},
    {"ja", "Metron で開く"},
    {"en", "Open in Metron"},
    {"es", "Abrir en Metron"},
    {"fr", "Ouvrir dans Metron"},
    {"de", "In Metron \xc3\xb6" "ffnen"},
    {"it", "Apri in Metron"},
};

const char *notify_link_label(const char *language)
{
    for (size_t i = 0; language != NULL && i < sizeof link_labels / sizeof link_labels[0]; i++) {
        if (strcmp(language, link_labels[i].lang) == 0) {
            return link_labels[i].label;
        }
    }
    return "Open in Metron";
}

/* A message's reference as a person reads it, for support ("Metron ·
 * message 1234"): the outbox row's number, never its kind (a server code). */
static const struct {
    const char *lang, *word;
} ref_words[] = {
    {"zh-CN", "\xe6\xb6\x88\xe6\x81\xaf"},                                  /* 消息 */
    {"ja", "\xe3\x83\xa1\xe3\x83\x83\xe3\x82\xbb\xe3\x83\xbc\xe3\x82\xb8"}, /* メッセージ */
    {"en", "message"},
    {"es", "mensaje"},
    {"fr", "message"},
    {"de", "Nachricht"},
    {"it", "messaggio"},
};

void notify_reference(const char *language, long long message_id, char *out, size_t size)
{
    const char *word = "message";
    for (size_t i = 0; language != NULL && i < sizeof ref_words / sizeof ref_words[0]; i++) {
        if (strcmp(language, ref_words[i].lang) == 0) {
            word = ref_words[i].word;
        }
    }
    snprintf(out, size, "Metron \xc2\xb7 %s %lld", word, message_id);
}

static const char *label_of(const notify_item *it)
{
    return it->link_label != NULL && it->link_label[0] ? it->link_label
                                                       : notify_link_label(it->language);
}

/* A growing string. */
typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} buf;

static void put_n(buf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->s, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void put(buf *b, const char *s)
{
    put_n(b, s, strlen(s));
}

static char *take(buf *b)
{
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    if (b->s == NULL) {
        return strdup("");
    }
    return b->s;
}

/* The length of the longest prefix of "s" (of "len" bytes) that has at
 * most "max_chars" UTF-8 characters and at most "max_bytes" bytes and
 * does not cut a character. */
static size_t utf8_prefix(const char *s, size_t len, size_t max_chars, size_t max_bytes)
{
    size_t i = 0, chars = 0;
    while (i < len && chars < max_chars) {
        size_t k = 1;
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0xf0) {
            k = 4;
        } else if (ch >= 0xe0) {
            k = 3;
        } else if (ch >= 0xc0) {
            k = 2;
        }
        if (i + k > len || i + k > max_bytes) {
            break;
        }
        i += k;
        chars++;
    }
    return i;
}

/* "s" cut to "max_chars" characters, "…" at the end when it was cut
 * (caller frees; NULL when out of memory). */
static char *cut(const char *s, size_t max_chars)
{
    size_t len = strlen(s), keep = utf8_prefix(s, len, max_chars, len);
    char *out;
    if (keep == len) {
        return strdup(s);
    }
    keep = utf8_prefix(s, len, max_chars - 1, len);
    out = malloc(keep + 4);
    if (out != NULL) {
        memcpy(out, s, keep);
        memcpy(out + keep, "\xe2\x80\xa6", 4);
    }
    return out;
}

/* Slack's mrkdwn: only &, < and > are control characters. */
static void put_slack_escaped(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&') {
            put(b, "&amp;");
        } else if (*s == '<') {
            put(b, "&lt;");
        } else if (*s == '>') {
            put(b, "&gt;");
        } else {
            put_n(b, s, 1);
        }
    }
}

static const char *severity_emoji(const char *severity)
{
    if (severity == NULL) {
        return "";
    }
    if (strcmp(severity, "alert") == 0) {
        return "\xf0\x9f\x94\xb4 "; /* red circle */
    }
    if (strcmp(severity, "warning") == 0) {
        return "\xf0\x9f\x9f\xa0 "; /* orange circle */
    }
    if (strcmp(severity, "ok") == 0) {
        return "\xe2\x9c\x85 "; /* check mark */
    }
    return "";
}

/* The fields as a parsed array (NULL when none or unreadable). */
static cJSON *fields_of(const notify_item *it)
{
    cJSON *a = it->fields_json ? cJSON_Parse(it->fields_json) : NULL;
    if (a != NULL && !cJSON_IsArray(a)) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

static const char *field_str(const cJSON *f, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static bool add_str(cJSON *o, const char *name, const char *v)
{
    return cJSON_AddStringToObject(o, name, v) != NULL;
}

/* ----------------------------------------------------------------- Slack */

static cJSON *slack_text(const char *type, const char *text)
{
    cJSON *t = cJSON_CreateObject();
    if (t != NULL && (!add_str(t, "type", type) || !add_str(t, "text", text))) {
        cJSON_Delete(t);
        return NULL;
    }
    return t;
}

static bool add_block(cJSON *blocks, cJSON *b)
{
    if (b == NULL || !cJSON_AddItemToArray(blocks, b)) {
        cJSON_Delete(b);
        return false;
    }
    return true;
}

static cJSON *slack(const notify_item *it)
{
    cJSON *o = cJSON_CreateObject(), *blocks, *b, *fields = fields_of(it);
    buf head = {0}, text = {0}, ctx = {0};
    char *h = NULL, *t = NULL;
    bool ok = false;
    if (o == NULL) {
        goto out;
    }
    put(&head, severity_emoji(it->severity));
    put(&head, it->title);
    h = take(&head);
    head.s = NULL;
    if (h == NULL) {
        goto out;
    }
    {
        char *hc = cut(h, NOTIFY_SLACK_HEADER_MAX);
        free(h);
        h = hc;
    }
    /* "text" is what notifications and old clients show. */
    if (h == NULL || !add_str(o, "text", h) ||
        (blocks = cJSON_AddArrayToObject(o, "blocks")) == NULL) {
        goto out;
    }
    b = cJSON_CreateObject();
    if (!add_block(blocks, b) || !add_str(b, "type", "header") ||
        !cJSON_AddItemToObject(b, "text", slack_text("plain_text", h))) {
        goto out;
    }
    if (it->body != NULL && it->body[0] != '\0') {
        put_slack_escaped(&text, it->body);
        t = take(&text);
        text.s = NULL;
        if (t == NULL) {
            goto out;
        }
        {
            char *tc = cut(t, NOTIFY_SLACK_TEXT_MAX);
            free(t);
            t = tc;
        }
        b = cJSON_CreateObject();
        if (t == NULL || !add_block(blocks, b) || !add_str(b, "type", "section") ||
            !cJSON_AddItemToObject(b, "text", slack_text("mrkdwn", t))) {
            goto out;
        }
    }
    if (cJSON_GetArraySize(fields) > 0) {
        cJSON *arr, *f;
        b = cJSON_CreateObject();
        if (!add_block(blocks, b) || !add_str(b, "type", "section") ||
            (arr = cJSON_AddArrayToObject(b, "fields")) == NULL) {
            goto out;
        }
        cJSON_ArrayForEach(f, fields)
        {
            buf fb = {0};
            char *s;
            bool added;
            put(&fb, "*");
            put_slack_escaped(&fb, field_str(f, "name"));
            put(&fb, "*\n");
            put_slack_escaped(&fb, field_str(f, "value"));
            s = take(&fb);
            added = s != NULL && cJSON_AddItemToArray(arr, slack_text("mrkdwn", s));
            free(s);
            if (!added) {
                goto out;
            }
        }
    }
    if (it->link_url != NULL && it->link_url[0] != '\0') {
        cJSON *els, *btn;
        b = cJSON_CreateObject();
        if (!add_block(blocks, b) || !add_str(b, "type", "actions") ||
            (els = cJSON_AddArrayToObject(b, "elements")) == NULL ||
            (btn = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(els, btn) ||
            !add_str(btn, "type", "button") ||
            !cJSON_AddItemToObject(btn, "text", slack_text("plain_text", label_of(it))) ||
            !add_str(btn, "url", it->link_url)) {
            goto out;
        }
    }
    {
        cJSON *els;
        char *c;
        bool added;
        char ref[96];
        notify_reference(it->language, it->message_id, ref, sizeof ref);
        put_slack_escaped(&ctx, ref);
        c = take(&ctx);
        ctx.s = NULL;
        b = cJSON_CreateObject();
        added = c != NULL && add_block(blocks, b) && add_str(b, "type", "context") &&
                (els = cJSON_AddArrayToObject(b, "elements")) != NULL &&
                cJSON_AddItemToArray(els, slack_text("mrkdwn", c));
        free(c);
        if (!added) {
            goto out;
        }
    }
    ok = true;
out:
    free(h);
    free(t);
    free(head.s);
    free(text.s);
    free(ctx.s);
    cJSON_Delete(fields);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ----------------------------------------------------------------- Teams */

/* An Adaptive Card in a message attachment: what both the Workflows
 * ("Post to a channel when a webhook request is received") and the older
 * Office 365 connector webhooks of Teams accept. */
static cJSON *teams(const notify_item *it)
{
    cJSON *o = cJSON_CreateObject(), *atts, *att, *card, *body, *tb, *fields = fields_of(it);
    const char *color = "Default";
    bool ok = false;
    if (it->severity != NULL) {
        if (strcmp(it->severity, "alert") == 0) {
            color = "Attention";
        } else if (strcmp(it->severity, "warning") == 0) {
            color = "Warning";
        } else if (strcmp(it->severity, "ok") == 0) {
            color = "Good";
        }
    }
    if (o == NULL || !add_str(o, "type", "message") ||
        (atts = cJSON_AddArrayToObject(o, "attachments")) == NULL ||
        (att = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(atts, att) ||
        !add_str(att, "contentType", "application/vnd.microsoft.card.adaptive") ||
        cJSON_AddNullToObject(att, "contentUrl") == NULL ||
        (card = cJSON_AddObjectToObject(att, "content")) == NULL ||
        !add_str(card, "$schema", "http://adaptivecards.io/schemas/adaptive-card.json") ||
        !add_str(card, "type", "AdaptiveCard") || !add_str(card, "version", "1.4") ||
        (body = cJSON_AddArrayToObject(card, "body")) == NULL) {
        goto out;
    }
    {
        cJSON *ms = cJSON_AddObjectToObject(card, "msteams");
        if (ms == NULL || !add_str(ms, "width", "Full")) {
            goto out;
        }
    }
    tb = cJSON_CreateObject();
    if (tb == NULL || !cJSON_AddItemToArray(body, tb) || !add_str(tb, "type", "TextBlock") ||
        !add_str(tb, "text", it->title) || !add_str(tb, "weight", "Bolder") ||
        !add_str(tb, "size", "Medium") || !add_str(tb, "color", color) ||
        cJSON_AddTrueToObject(tb, "wrap") == NULL) {
        goto out;
    }
    if (it->body != NULL && it->body[0] != '\0') {
        tb = cJSON_CreateObject();
        if (tb == NULL || !cJSON_AddItemToArray(body, tb) || !add_str(tb, "type", "TextBlock") ||
            !add_str(tb, "text", it->body) || cJSON_AddTrueToObject(tb, "wrap") == NULL) {
            goto out;
        }
    }
    if (cJSON_GetArraySize(fields) > 0) {
        cJSON *fs = cJSON_CreateObject(), *facts, *f;
        if (fs == NULL || !cJSON_AddItemToArray(body, fs) || !add_str(fs, "type", "FactSet") ||
            (facts = cJSON_AddArrayToObject(fs, "facts")) == NULL) {
            goto out;
        }
        cJSON_ArrayForEach(f, fields)
        {
            cJSON *x = cJSON_CreateObject();
            if (x == NULL || !cJSON_AddItemToArray(facts, x) ||
                !add_str(x, "title", field_str(f, "name")) ||
                !add_str(x, "value", field_str(f, "value"))) {
                goto out;
            }
        }
    }
    if (it->link_url != NULL && it->link_url[0] != '\0') {
        cJSON *acts = cJSON_AddArrayToObject(card, "actions"), *a;
        if (acts == NULL || (a = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(acts, a) ||
            !add_str(a, "type", "Action.OpenUrl") || !add_str(a, "title", label_of(it)) ||
            !add_str(a, "url", it->link_url)) {
            goto out;
        }
    }
    ok = true;
out:
    cJSON_Delete(fields);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---------------------------------------------------------------- WeChat */

/* WeChat Work's robot markdown: bold, links, quotes and <font color=
 * "info|comment|warning">; at most 4096 bytes. */
static cJSON *wechat(const notify_item *it)
{
    cJSON *o = cJSON_CreateObject(), *md, *fields = fields_of(it), *f;
    const char *color = "comment";
    buf b = {0};
    char *content = NULL;
    size_t keep;
    bool ok = false;
    if (it->severity != NULL) {
        if (strcmp(it->severity, "alert") == 0 || strcmp(it->severity, "warning") == 0) {
            color = "warning";
        } else if (strcmp(it->severity, "ok") == 0) {
            color = "info";
        }
    }
    put(&b, "**<font color=\"");
    put(&b, color);
    put(&b, "\">");
    put(&b, it->title);
    put(&b, "</font>**\n");
    if (it->body != NULL && it->body[0] != '\0') {
        put(&b, it->body);
        put(&b, "\n");
    }
    cJSON_ArrayForEach(f, fields)
    {
        put(&b, "> ");
        put(&b, field_str(f, "name"));
        put(&b, ": <font color=\"comment\">");
        put(&b, field_str(f, "value"));
        put(&b, "</font>\n");
    }
    if (it->link_url != NULL && it->link_url[0] != '\0') {
        put(&b, "[");
        put(&b, label_of(it));
        put(&b, "](");
        put(&b, it->link_url);
        put(&b, ")\n");
    }
    content = take(&b);
    if (o == NULL || content == NULL) {
        goto out;
    }
    keep = utf8_prefix(content, strlen(content), (size_t)-1, NOTIFY_WECHAT_MAX_BYTES);
    content[keep] = '\0';
    if (!add_str(o, "msgtype", "markdown") ||
        (md = cJSON_AddObjectToObject(o, "markdown")) == NULL || !add_str(md, "content", content)) {
        goto out;
    }
    ok = true;
out:
    free(content);
    cJSON_Delete(fields);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *notify_format_webhook(const notify_item *it)
{
    cJSON *o = NULL;
    char *out;
    if (it->channel == NULL) {
        return NULL;
    }
    if (strcmp(it->channel, "slack") == 0) {
        o = slack(it);
    } else if (strcmp(it->channel, "teams") == 0) {
        o = teams(it);
    } else if (strcmp(it->channel, "wechat") == 0) {
        o = wechat(it);
    }
    if (o == NULL) {
        return NULL;
    }
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

/* ------------------------------------------------------------------ mail */

char *notify_format_mail(const notify_item *it)
{
    buf b = {0};
    cJSON *fields = fields_of(it), *f;
    char ref[96];
    put(&b, it->title);
    put(&b, "\n\n");
    if (it->body != NULL && it->body[0] != '\0') {
        put(&b, it->body);
        put(&b, "\n\n");
    }
    if (cJSON_GetArraySize(fields) > 0) {
        cJSON_ArrayForEach(f, fields)
        {
            put(&b, field_str(f, "name"));
            put(&b, ": ");
            put(&b, field_str(f, "value"));
            put(&b, "\n");
        }
        put(&b, "\n");
    }
    if (it->link_url != NULL && it->link_url[0] != '\0') {
        put(&b, label_of(it));
        put(&b, ":\n");
        put(&b, it->link_url);
        put(&b, "\n\n");
    }
    notify_reference(it->language, it->message_id, ref, sizeof ref);
    put(&b, "-- \n");
    put(&b, ref);
    put(&b, "\n");
    cJSON_Delete(fields);
    return take(&b);
}

/* --------------------------------------------------------------- answers */

long long notify_retry_after_ms(const char *value, time_t now)
{
    const long long max_ms = 3600LL * 1000;
    const char *p = value;
    struct tm tm;
    char *end;
    if (value == NULL) {
        return -1;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (isdigit((unsigned char)*p)) {
        long long s = 0;
        for (; isdigit((unsigned char)*p); p++) {
            s = s * 10 + (*p - '0');
            if (s > 3600) {
                s = 3600; /* keep counting digits, stop growing */
            }
        }
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        return *p == '\0' ? s * 1000 : -1;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    memset(&tm, 0, sizeof tm);
    end = strptime(p, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL) {
        return -1;
    }
    while (*end == ' ' || *end == '\t') {
        end++;
    }
    if (*end != '\0') {
        return -1;
    }
    {
        time_t t = timegm(&tm);
        long long ms;
        if (t == (time_t)-1) {
            return -1;
        }
        ms = ((long long)t - (long long)now) * 1000;
        return ms < 0 ? 0 : ms > max_ms ? max_ms : ms;
    }
}

/* The number after "key": in a JSON text (WeChat's {"errcode":0,...}),
 * read within "len" bytes without parsing the whole; 1 when found. */
static int json_int_member(const char *s, size_t len, const char *key, long long *out)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen + 2 < len; i++) {
        if (s[i] == '"' && memcmp(s + i + 1, key, klen) == 0 && s[i + 1 + klen] == '"') {
            size_t j = i + 2 + klen;
            long long v = 0;
            int sign = 1, digits = 0;
            while (j < len && (s[j] == ' ' || s[j] == ':' || s[j] == '\t')) {
                j++;
            }
            if (j < len && s[j] == '-') {
                sign = -1;
                j++;
            }
            while (j < len && isdigit((unsigned char)s[j]) && digits < 12) {
                v = v * 10 + (s[j++] - '0');
                digits++;
            }
            if (digits == 0) {
                return 0;
            }
            *out = sign * v;
            return 1;
        }
    }
    return 0;
}

static bool contains(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (strncasecmp(s + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

notify_verdict notify_classify_webhook(const char *channel, long status, const char *body,
                                       size_t body_len, const char *retry_after, time_t now,
                                       long long *retry_ms, char *why, size_t why_cap)
{
    bool is_wechat = channel != NULL && strcmp(channel, "wechat") == 0;
    long long ra = notify_retry_after_ms(retry_after, now);
    long long dflt = is_wechat ? 60000 : 30000;
    if (body == NULL) {
        body_len = 0;
    }
    *retry_ms = 0;
    if (status >= 200 && status < 300) {
        long long errcode = 0;
        if (is_wechat && json_int_member(body, body_len, "errcode", &errcode) && errcode != 0) {
            /* WeChat answers 200 with an error code. 45009: over the robot's
             * 20 messages a minute. 93000: the webhook key is invalid. */
            if (errcode == 45009) {
                *retry_ms = ra >= 0 ? ra : dflt;
                snprintf(why, why_cap, "WeChat: too many messages (errcode 45009)");
                return NOTIFY_THROTTLED;
            }
            snprintf(why, why_cap, "WeChat refused the message (errcode %lld)", errcode);
            return errcode == 93000 ? NOTIFY_PERMANENT : NOTIFY_RETRY;
        }
        /* The old Teams connectors answer 200 with the error in the text. */
        if (channel != NULL && strcmp(channel, "teams") == 0 &&
            contains(body, body_len, "delivery failed")) {
            if (contains(body, body_len, "429")) {
                *retry_ms = ra >= 0 ? ra : dflt;
                snprintf(why, why_cap, "Teams: too many requests");
                return NOTIFY_THROTTLED;
            }
            snprintf(why, why_cap, "Teams: the message was not delivered");
            return NOTIFY_RETRY;
        }
        return NOTIFY_SENT;
    }
    if (status == 429) {
        *retry_ms = ra >= 0 ? ra : dflt;
        snprintf(why, why_cap, "too many requests (HTTP 429), retry after %lld s",
                 (*retry_ms + 999) / 1000);
        return NOTIFY_THROTTLED;
    }
    if (status == 408 || status == 425 || status >= 500) {
        snprintf(why, why_cap, "the receiver failed (HTTP %ld)", status);
        return NOTIFY_RETRY;
    }
    if (status >= 300 && status < 400) {
        snprintf(why, why_cap, "the webhook URL redirects (HTTP %ld): use the final URL", status);
        return NOTIFY_PERMANENT;
    }
    if (status >= 400) {
        snprintf(why, why_cap,
                 "the receiver refused the message (HTTP %ld): check the webhook URL", status);
        return NOTIFY_PERMANENT;
    }
    snprintf(why, why_cap, "no usable answer (HTTP %ld)", status);
    return NOTIFY_RETRY;
}

long long notify_backoff_ms(int failures, long long base_ms, long long cap_ms, double jitter)
{
    long long d = base_ms;
    if (failures < 1) {
        failures = 1;
    }
    for (int i = 1; i < failures && d < cap_ms; i++) {
        d *= 2;
    }
    if (d > cap_ms) {
        d = cap_ms;
    }
    if (jitter < 0) {
        jitter = 0;
    }
    if (jitter >= 1) {
        jitter = 0.999999;
    }
    return d / 2 + (long long)((double)(d - d / 2) * jitter);
}

size_t notify_clean_text(char *s, size_t len)
{
    unsigned char *p = (unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char ch = p[i];
        size_t k = 0;
        if (ch == 0) {
            break;
        }
        if (ch < 0x80) {
            if ((ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f) {
                p[i] = '?';
            }
            i++;
            continue;
        }
        if (ch >= 0xc2 && ch <= 0xdf) {
            k = 1;
        } else if (ch >= 0xe0 && ch <= 0xef) {
            k = 2;
        } else if (ch >= 0xf0 && ch <= 0xf4) {
            k = 3;
        }
        bool ok = k > 0 && i + k < len; /* its continuation bytes are within len */
        for (size_t j = 1; ok && j <= k; j++) {
            ok = (p[i + j] & 0xc0) == 0x80;
        }
        if (ok && ((ch == 0xe0 && p[i + 1] < 0xa0) || (ch == 0xed && p[i + 1] > 0x9f) ||
                   (ch == 0xf0 && p[i + 1] < 0x90) || (ch == 0xf4 && p[i + 1] > 0x8f))) {
            ok = false;
        }
        if (!ok) {
            p[i] = '?';
            i++;
            continue;
        }
        i += k + 1;
    }
    s[i] = '\0';
    return i;
}
