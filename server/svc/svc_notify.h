/* The outbox: how a service sends a notification (issue #13; docs/notify.md).
 *
 * A service never sends mail or calls a webhook itself. It describes the
 * message and its recipients and calls svc_notify_enqueue() on the
 * connection of its own open transaction: the outbox rows commit together
 * with whatever caused them (an alarm event, a reset link) or not at all.
 * After the commit, the sender threads of any server process deliver each
 * row (notify/outbox_sender.c): retries with back-off, rate limits per
 * receiver, a delivery log per attempt. Nothing is sent on the caller's
 * thread and nothing is sent for a transaction that rolls back.
 *
 *     notify_to to[] = {{NOTIFY_TO_DESTINATION, dest_id, NULL, NULL},
 *                       {NOTIFY_TO_SYSTEM, 0, NULL, NULL}};
 *     notify_msg m = {.account_id = acct, .kind = "alarm.raise", .key = key,
 *                     .severity = "alert", .language = rule_language,
 *                     .render = render_alarm, .render_arg = &event,
 *                     .to = to, .n_to = 2};
 *     if (svc_notify_enqueue(c, &m, &res, e) != SVC_OK) goto out;  // rolls back
 */
#ifndef MTS_SVC_NOTIFY_H
#define MTS_SVC_NOTIFY_H

#include <stdbool.h>

#include "db.h"
#include "mail.h"
#include "svc.h"

/* Limits of a message (checked by svc_notify_enqueue(); SVC_INVALID). */
#define NOTIFY_TITLE_MAX 150   /* characters, one line */
#define NOTIFY_BODY_MAX 3000   /* characters, newlines allowed */
#define NOTIFY_FIELDS_MAX 10
#define NOTIFY_FIELD_NAME_MAX 50
#define NOTIFY_FIELD_VALUE_MAX 200
#define NOTIFY_KEY_MAX 200
#define NOTIFY_TO_MAX 32

/* Who receives a message. */
typedef enum {
    NOTIFY_TO_DESTINATION = 1, /* "id": a destination of the account (R8, notify_destinations) */
    NOTIFY_TO_RECIPIENT = 2,   /* "id": one system notification recipient (G4) */
    NOTIFY_TO_SYSTEM = 3,      /* every enabled system notification recipient of the account */
    NOTIFY_TO_USER = 4,        /* "id": a user of the account, at their e-mail address */
    NOTIFY_TO_EMAIL = 5        /* "email": this address (e.g. a sign-in code) */
} notify_to_kind;

typedef struct {
    notify_to_kind kind;
    long long id;         /* DESTINATION, RECIPIENT, USER */
    const char *email;    /* EMAIL */
    const char *language; /* EMAIL: the reader's language (NULL = the account's) */
} notify_to;

/* One "name: value" line (e.g. "Channel" / "CH1 Temperature", "Value" /
 * "31.2 °C"): shown as a table in mail, fields in Slack and Teams. */
typedef struct {
    const char *name;
    const char *value;
} notify_field;

/* The words of a message in one language. Plain UTF-8 text everywhere (no
 * markup: each channel escapes it for its own format). Strings are
 * borrowed: they must stay valid until svc_notify_enqueue() returns, or
 * for a render callback, until the next call of the callback. */
typedef struct {
    const char *title;      /* 1..NOTIFY_TITLE_MAX characters, no line break */
    const char *body;       /* 0..NOTIFY_BODY_MAX characters; NULL = "" */
    const notify_field *fields;
    int n_fields;           /* 0..NOTIFY_FIELDS_MAX */
    const char *link_url;   /* http(s) URL shown as a button/link, or NULL */
    const char *link_label; /* its label (NULL = "Open in Metron", translated) */
} notify_text;

/* Fill "out" with the message in "language" (one of the seven portal
 * languages). Called at most once per distinct language among the targets,
 * inside svc_notify_enqueue(). Return SVC_OK, or a failure in "e" (the
 * enqueue fails with it). */
typedef svc_status (*notify_render_fn)(void *arg, const char *language, notify_text *out,
                                       svc_error *e);

typedef struct {
    long long account_id;
    /* What it is, [a-z][a-z0-9_.]{0,63}: "alarm.raise", "alarm.clear",
     * "notice.app_disconnected", "auth.sign_in_code", "test", ... */
    const char *kind;
    /* The idempotency key, 1..NOTIFY_KEY_MAX characters, unique per account
     * and target: "alarm_event:812:raise". Enqueueing a key again for a
     * target that already has it inserts nothing for that target (also
     * across transactions and server processes). */
    const char *key;
    const char *severity; /* "alert", "warning", "ok", "info" (NULL = "info") */
    /* The language of every copy (e.g. the alarm rule's, R7), or NULL: each
     * target's own (a destination's or recipient's language, a user's or
     * else the account's, NOTIFY_TO_EMAIL's "language" or else the
     * account's). */
    const char *language;
    /* The words: either one text for every target ("text"), or "render",
     * asked once per language needed. */
    const notify_text *text;
    notify_render_fn render;
    void *render_arg;
    const notify_to *to;
    int n_to; /* 1..NOTIFY_TO_MAX */
    /* The body or link holds a secret (a sign-in code, a reset or
     * temporary login link): it is erased from the outbox once the message
     * is sent, dead or cancelled, and never shown by the delivery log. */
    bool sensitive;
    /* A drive file of the account sent with the e-mail copies (a report's
     * PDF; 0 = none), under "attach_name" (1..255 bytes, no control
     * character) as "attach_type" (e.g. "application/pdf"). Webhook copies
     * carry the link only. The file is read when the mail is sent (at
     * most NOTIFY_ATTACH_MAX bytes); once deleted from the drive, the mail
     * goes without it. */
    long long attach_file_id;
    const char *attach_name;
    const char *attach_type;
    /* Unix seconds (the auth clock, auth_now()) from which the message is
     * useless and must not be sent (an e-mailed sign-in code: its code's
     * expiry), or 0 = never. A row not sent by then is cancelled, and a
     * sensitive one's text erased then (docs/notify.md, "Expiry"). */
    long long expires_at;
    /* A person waits for it at a screen (an e-mailed sign-in code, a reset
     * link, a test send): the senders take it before every other due
     * message (docs/notify.md, "Order and receivers in flight"). */
    bool interactive;
} notify_msg;

/* The largest attachment a mail carries (a larger file goes without). */
#define NOTIFY_ATTACH_MAX MAIL_ATTACH_MAX

typedef struct {
    long long message_id; /* shared by the rows this call made; for a key that was
                           * enqueued before, the earlier rows' (0: no row) */
    long long first_id;   /* the outbox id of the first row inserted now (0: none) */
    int queued;           /* outbox rows inserted now */
    int duplicates;       /* targets that already had this key */
    int skipped;          /* targets that are disabled, missing, or have no e-mail */
} notify_result;

/* Put message "m" into the outbox on connection "c", which must be inside
 * the caller's transaction (db_begin()); the rows become visible to the
 * senders, and the senders of every server process are woken, when that
 * transaction commits. Targets are resolved now, in the account: a
 * destination or recipient that is missing or disabled, a user without
 * e-mail or disabled, and NOTIFY_TO_SYSTEM without recipients are skipped
 * (counted in "out", not an error). Each target gets one row with the text
 * in its language. "out" may be NULL.
 *
 * Returns SVC_OK; SVC_INVALID for a message that breaks the limits above
 * (kind, key, severity, language, text, targets); SVC_DB when a statement
 * failed (the transaction is then aborted: the caller rolls back); or the
 * render callback's failure. Thread-safe (per connection). */
MT_MUSTCHECK
svc_status svc_notify_enqueue(db_conn *c, const notify_msg *m, notify_result *out,
                              svc_error *e);

/* Whether "lang" is one of the seven portal languages ("zh-CN", "ja",
 * "en", "es", "fr", "de", "it"). */
bool svc_notify_language_valid(const char *lang);

#endif
