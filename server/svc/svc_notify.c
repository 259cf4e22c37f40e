/* The outbox's enqueue (svc_notify.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_notify.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_outbox.h"
#include "svc_recipients.h"

static const char *const languages[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it"};
#define N_LANGUAGES (int)(sizeof languages / sizeof languages[0])

static int language_index(const char *lang)
{
    for (int i = 0; lang != NULL && i < N_LANGUAGES; i++) {
        if (strcmp(lang, languages[i]) == 0) {
            return i;
        }
    }
    return -1;
}

bool svc_notify_language_valid(const char *lang)
{
    return language_index(lang) >= 0;
}

/* The number of code points of "s" if it is valid UTF-8 without control
 * characters (tab and, when "lines", line feeds allowed), else -1. */
static long text_chars(const char *s, bool lines)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p != '\0') {
        unsigned char ch = *p;
        int extra;
        if (ch < 0x80) {
            if ((ch < 0x20 && ch != '\t' && !(lines && (ch == '\n' || ch == '\r'))) ||
                ch == 0x7f) {
                return -1;
            }
            p++;
            n++;
            continue;
        }
        if (ch >= 0xc2 && ch <= 0xdf) {
            extra = 1;
        } else if (ch >= 0xe0 && ch <= 0xef) {
            extra = 2;
        } else if (ch >= 0xf0 && ch <= 0xf4) {
            extra = 3;
        } else {
            return -1;
        }
        for (int k = 1; k <= extra; k++) {
            if ((p[k] & 0xc0) != 0x80) {
                return -1;
            }
        }
        /* overlongs, surrogates and code points above U+10FFFF */
        if ((ch == 0xe0 && p[1] < 0xa0) || (ch == 0xed && p[1] > 0x9f) ||
            (ch == 0xf0 && p[1] < 0x90) || (ch == 0xf4 && p[1] > 0x8f)) {
            return -1;
        }
        p += extra + 1;
        n++;
    }
    return n;
}

static bool kind_valid(const char *k)
{
    size_t n = k != NULL ? strlen(k) : 0;
    if (n < 1 || n > 64 || !islower((unsigned char)k[0])) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (!islower((unsigned char)k[i]) && !isdigit((unsigned char)k[i]) && k[i] != '_' &&
            k[i] != '.') {
            return false;
        }
    }
    return true;
}

static bool severity_valid(const char *s)
{
    return strcmp(s, "alert") == 0 || strcmp(s, "warning") == 0 || strcmp(s, "ok") == 0 ||
           strcmp(s, "info") == 0;
}

static svc_status bad(svc_error *e, const char *field, const char *msg)
{
    return svc_fail(e, SVC_INVALID, "invalid_value", field, "notification: %s", msg);
}

static svc_status check_msg(const notify_msg *m, svc_error *e)
{
    long n;
    if (m->account_id <= 0) {
        return bad(e, "account_id", "no account");
    }
    if (!kind_valid(m->kind)) {
        return bad(e, "kind", "kind must match [a-z][a-z0-9_.]{0,63}");
    }
    n = m->key != NULL ? text_chars(m->key, false) : -1;
    if (n < 1 || n > NOTIFY_KEY_MAX) {
        return bad(e, "key", "the key must be 1 to 200 characters of text");
    }
    if (m->severity != NULL && !severity_valid(m->severity)) {
        return bad(e, "severity", "severity must be alert, warning, ok or info");
    }
    if (m->language != NULL && language_index(m->language) < 0) {
        return bad(e, "language", "language must be one of zh-CN, ja, en, es, fr, de, it");
    }
    if ((m->text == NULL) == (m->render == NULL)) {
        return bad(e, "text", "give either a text or a render function");
    }
    if (m->to == NULL || m->n_to < 1 || m->n_to > NOTIFY_TO_MAX) {
        return bad(e, "to", "a message has 1 to 32 recipients");
    }
    if (m->attach_file_id < 0) {
        return bad(e, "attach_file_id", "an attachment is a drive file id");
    }
    if (m->expires_at < 0) {
        return bad(e, "expires_at", "an expiry is a time in Unix seconds, or 0 for none");
    }
    if (m->attach_file_id > 0) {
        size_t len = m->attach_name != NULL ? strlen(m->attach_name) : 0;
        size_t tlen = m->attach_type != NULL ? strlen(m->attach_type) : 0;
        if (len < 1 || len > 255 || text_chars(m->attach_name, false) < 1 || tlen < 1 ||
            tlen > 100 || strpbrk(m->attach_type, "\r\n\";") != NULL) {
            return bad(e, "attach_name", "an attachment has a one-line name of 1 to 255 bytes "
                                          "and a content type");
        }
    }
    for (int i = 0; i < m->n_to; i++) {
        const notify_to *t = &m->to[i];
        switch (t->kind) {
        case NOTIFY_TO_DESTINATION:
        case NOTIFY_TO_RECIPIENT:
        case NOTIFY_TO_USER:
            if (t->id <= 0) {
                return bad(e, "to", "a recipient id must be positive");
            }
            break;
        case NOTIFY_TO_SYSTEM:
            break;
        case NOTIFY_TO_EMAIL:
            if (t->email == NULL || !svc_email_valid(t->email)) {
                return bad(e, "to", "not an e-mail address");
            }
            if (t->language != NULL && language_index(t->language) < 0) {
                return bad(e, "language", "language must be one of zh-CN, ja, en, es, fr, de, it");
            }
            break;
        default:
            return bad(e, "to", "unknown kind of recipient");
        }
    }
    return SVC_OK;
}

static svc_status check_text(const notify_text *t, svc_error *e)
{
    long n = t->title != NULL ? text_chars(t->title, false) : -1;
    if (n < 1 || n > NOTIFY_TITLE_MAX) {
        return bad(e, "title", "the title must be one line of 1 to 150 characters");
    }
    n = t->body != NULL ? text_chars(t->body, true) : 0;
    if (n < 0 || n > NOTIFY_BODY_MAX) {
        return bad(e, "body", "the body must be text of at most 3000 characters");
    }
    if (t->n_fields < 0 || t->n_fields > NOTIFY_FIELDS_MAX ||
        (t->n_fields > 0 && t->fields == NULL)) {
        return bad(e, "fields", "at most 10 fields");
    }
    for (int i = 0; i < t->n_fields; i++) {
        long a = t->fields[i].name ? text_chars(t->fields[i].name, false) : -1;
        long b = t->fields[i].value ? text_chars(t->fields[i].value, false) : -1;
        if (a < 1 || a > NOTIFY_FIELD_NAME_MAX || b < 0 || b > NOTIFY_FIELD_VALUE_MAX) {
            return bad(e, "fields", "a field is a name of 1 to 50 and a value of at most 200 "
                                    "characters, one line each");
        }
    }
    if (t->link_url != NULL && !svc_webhook_valid(t->link_url)) {
        return bad(e, "link_url", "the link must be an http:// or https:// URL");
    }
    n = t->link_label != NULL ? text_chars(t->link_label, false) : 1;
    if (n < 1 || n > 100) {
        return bad(e, "link_label", "the link label must be one line of 1 to 100 characters");
    }
    return SVC_OK;
}

/* The fields as [{"name":..,"value":..}] (caller frees), NULL when out of
 * memory. */
static char *fields_json(const notify_text *t)
{
    cJSON *a = cJSON_CreateArray();
    char *out = NULL;
    if (a == NULL) {
        return NULL;
    }
    for (int i = 0; i < t->n_fields; i++) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(a, o) ||
            cJSON_AddStringToObject(o, "name", t->fields[i].name) == NULL ||
            cJSON_AddStringToObject(o, "value", t->fields[i].value) == NULL) {
            goto out;
        }
    }
    out = cJSON_PrintUnformatted(a);
out:
    cJSON_Delete(a);
    return out;
}

/* A resolved target with the language and address its row gets. */
typedef struct {
    db_notify_target t; /* owned */
    int lang;           /* index into languages */
    char email[256];    /* user/email targets */
} target;

typedef struct {
    target *v;
    int n, cap;
} target_list;

static void targets_free(target_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].t.target);
        free(l->v[i].t.type);
        free(l->v[i].t.channel);
        free(l->v[i].t.language);
        free(l->v[i].t.email);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Append "t" (taking its strings) unless it is unusable. */
static int targets_add(target_list *l, db_notify_target *t, int lang, const char *email,
                       int *skipped)
{
    target *x;
    if (!t->usable) {
        (*skipped)++;
        free(t->target);
        free(t->type);
        free(t->channel);
        free(t->language);
        free(t->email);
        memset(t, 0, sizeof *t);
        return 0;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        target *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (v == NULL) {
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    x = &l->v[l->n++];
    memset(x, 0, sizeof *x);
    x->t = *t;
    memset(t, 0, sizeof *t);
    x->lang = lang;
    snprintf(x->email, sizeof x->email, "%s", email ? email : "");
    return 0;
}

/* Resolve every entry of m->to into "l". */
static svc_status resolve(db_conn *c, const notify_msg *m, target_list *l, int *skipped,
                          svc_error *e)
{
    char acct_lang[8] = "";
    int fixed = m->language ? language_index(m->language) : -1;
    for (int i = 0; i < m->n_to; i++) {
        const notify_to *to = &m->to[i];
        db_notify_target *rows = NULL;
        int n = 0;
        db_status st = DB_OK;
        if (to->kind == NOTIFY_TO_EMAIL) {
            db_notify_target t;
            char tgt[300];
            int lang = fixed;
            size_t k;
            snprintf(tgt, sizeof tgt, "e:%s", to->email);
            for (k = 2; tgt[k] != '\0'; k++) {
                tgt[k] = (char)tolower((unsigned char)tgt[k]);
            }
            if (lang < 0 && to->language != NULL) {
                lang = language_index(to->language);
            }
            if (lang < 0) {
                if (acct_lang[0] == '\0' &&
                    (st = db_outbox_account_language(c, m->account_id, acct_lang)) != DB_OK) {
                    return svc_fail_db(e, st, NULL);
                }
                lang = language_index(acct_lang);
                lang = lang < 0 ? 2 : lang;
            }
            memset(&t, 0, sizeof t);
            t.target = strdup(tgt);
            t.type = strdup("email");
            t.channel = strdup("email");
            t.usable = true;
            if (t.target == NULL || t.type == NULL || t.channel == NULL ||
                targets_add(l, &t, lang, to->email, skipped) != 0) {
                free(t.target);
                free(t.type);
                free(t.channel);
                return svc_fail_nomem(e);
            }
            continue;
        }
        switch (to->kind) {
        case NOTIFY_TO_DESTINATION:
            st = db_outbox_target_destination(c, m->account_id, to->id, &rows, &n);
            break;
        case NOTIFY_TO_RECIPIENT:
            st = db_outbox_target_recipient(c, m->account_id, to->id, &rows, &n);
            break;
        case NOTIFY_TO_SYSTEM:
            st = db_outbox_target_system(c, m->account_id, &rows, &n);
            break;
        default:
            st = db_outbox_target_user(c, m->account_id, to->id, &rows, &n);
            break;
        }
        if (st != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        if (n == 0 && to->kind != NOTIFY_TO_SYSTEM) {
            (*skipped)++;
        }
        for (int k = 0; k < n; k++) {
            int lang = fixed >= 0 ? fixed : language_index(rows[k].language);
            const char *email = rows[k].email;
            char email_copy[256];
            snprintf(email_copy, sizeof email_copy, "%s", email ? email : "");
            if (targets_add(l, &rows[k], lang < 0 ? 2 : lang, email_copy, skipped) != 0) {
                db_notify_target_free(rows, n);
                return svc_fail_nomem(e);
            }
        }
        db_notify_target_free(rows, n);
    }
    return SVC_OK;
}

/* Count a row inserted or not: a row not inserted is a duplicate when the
 * target already has the key (its message id is then the call's, if it has
 * none yet), otherwise a target that is missing or disabled. */
static db_status counted(db_conn *c, const notify_msg *m, const char *target, bool inserted,
                         long long id, long long message_id, notify_result *res)
{
    long long existing = 0;
    bool found = false;
    db_status st;
    if (inserted) {
        res->first_id = res->first_id ? res->first_id : id;
        res->message_id = res->message_id ? res->message_id : message_id;
        res->queued++;
        return DB_OK;
    }
    st = db_outbox_existing(c, m->account_id, m->key, target, &existing, &found);
    if (st == DB_OK && found) {
        res->duplicates++;
        res->message_id = res->message_id ? res->message_id : existing;
    } else if (st == DB_OK) {
        res->skipped++;
    }
    return st;
}

/* The words in language "lang" (index; -1 = none fixed), checked, and the
 * fields as JSON into *fields (freed first). */
static svc_status words(const notify_msg *m, int lang, notify_text *text, char **fields,
                        svc_error *e)
{
    svc_status rc;
    if (m->text != NULL) {
        *text = *m->text;
    } else {
        memset(text, 0, sizeof *text);
        if ((rc = m->render(m->render_arg, languages[lang], text, e)) != SVC_OK) {
            return rc;
        }
    }
    if ((rc = check_text(text, e)) != SVC_OK) {
        return rc;
    }
    free(*fields);
    if ((*fields = fields_json(text)) == NULL) {
        return svc_fail_nomem(e);
    }
    return SVC_OK;
}

static void row_of(const notify_msg *m, const notify_text *text, const char *fields,
                   const char *language, long long message_id, db_outbox_row *row)
{
    memset(row, 0, sizeof *row);
    row->account_id = m->account_id;
    row->message_id = message_id;
    row->key = m->key;
    row->kind = m->kind;
    row->language = language;
    row->severity = m->severity ? m->severity : "info";
    row->title = text->title;
    row->body = text->body ? text->body : "";
    row->fields_json = fields;
    row->link_url = text->link_url;
    row->link_label = text->link_label;
    row->sensitive = m->sensitive;
    /* The attachment: the direct inserts keep it for e-mail targets only;
     * the general path clears it for the others (only mail carries files). */
    row->attach_file_id = m->attach_file_id;
    row->attach_name = m->attach_file_id ? m->attach_name : NULL;
    row->attach_type = m->attach_file_id ? m->attach_type : NULL;
    row->expires_at = m->expires_at;
    row->interactive = m->interactive;
}

/* The common case in one statement per target: destinations and single
 * recipients, with the words known before the target's language (a fixed
 * language, or one text for all). */
static bool direct(const notify_msg *m)
{
    if (m->language == NULL && m->text == NULL) {
        return false;
    }
    for (int i = 0; i < m->n_to; i++) {
        if (m->to[i].kind != NOTIFY_TO_DESTINATION && m->to[i].kind != NOTIFY_TO_RECIPIENT) {
            return false;
        }
    }
    return true;
}

static svc_status enqueue_direct(db_conn *c, const notify_msg *m, notify_result *res,
                                 svc_error *e)
{
    notify_text text;
    char *fields = NULL, target[32];
    svc_status rc = words(m, m->language ? language_index(m->language) : -1, &text, &fields, e);
    for (int i = 0; rc == SVC_OK && i < m->n_to; i++) {
        const notify_to *to = &m->to[i];
        bool rcpt = to->kind == NOTIFY_TO_RECIPIENT, inserted = false;
        long long id = 0, message_id = 0;
        db_outbox_row row;
        db_status st;
        row_of(m, &text, fields, m->language, res->message_id, &row);
        st = db_outbox_insert_to(c, &row, rcpt, to->id, &id, &message_id, &inserted);
        if (st == DB_OK) {
            snprintf(target, sizeof target, "%c:%lld", rcpt ? 'r' : 'd', to->id);
            st = counted(c, m, target, inserted, id, message_id, res);
        }
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        }
    }
    free(fields);
    return rc;
}

svc_status svc_notify_enqueue(db_conn *c, const notify_msg *m, notify_result *out,
                              svc_error *e)
{
    notify_result res = {0, 0, 0, 0, 0};
    target_list l = {NULL, 0, 0};
    svc_status rc;
    char *fields = NULL;
    db_status st;

    if ((rc = check_msg(m, e)) != SVC_OK) {
        goto out;
    }
    if (direct(m)) {
        rc = enqueue_direct(c, m, &res, e);
        goto out;
    }
    if ((rc = resolve(c, m, &l, &res.skipped, e)) != SVC_OK || l.n == 0) {
        goto out;
    }
    for (int lang = 0; lang < N_LANGUAGES; lang++) {
        notify_text text;
        bool any = false;
        for (int i = 0; i < l.n && !any; i++) {
            any = l.v[i].lang == lang;
        }
        if (!any) {
            continue;
        }
        if ((rc = words(m, lang, &text, &fields, e)) != SVC_OK) {
            goto out;
        }
        for (int i = 0; i < l.n; i++) {
            db_outbox_row row;
            bool inserted = false;
            long long id = 0, message_id = 0;
            if (l.v[i].lang != lang) {
                continue;
            }
            row_of(m, &text, fields, languages[lang], res.message_id, &row);
            row.to = &l.v[i].t;
            row.email = l.v[i].email[0] ? l.v[i].email : NULL;
            if (strcmp(row.to->channel, "email") != 0) {
                row.attach_file_id = 0;
                row.attach_name = row.attach_type = NULL;
            }
            if ((st = db_outbox_insert(c, &row, &id, &message_id, &inserted)) != DB_OK ||
                (st = counted(c, m, l.v[i].t.target, inserted, id, message_id, &res)) !=
                    DB_OK) {
                rc = svc_fail_db(e, st, NULL);
                goto out;
            }
        }
    }
    rc = SVC_OK;
out:
    free(fields);
    targets_free(&l);
    if (out != NULL) {
        *out = res;
    }
    return rc;
}
