/* What each channel receives (docs/notify.md, "Payloads"): the JSON body of
 * a Slack, Microsoft Teams or WeChat Work webhook and the text of a mail,
 * built from one outbox row; and what a receiver's answer means. Pure
 * functions of their arguments, thread-safe, no I/O. */
#ifndef MTS_NOTIFY_FORMAT_H
#define MTS_NOTIFY_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One message as the senders have it (borrowed strings). */
typedef struct {
    long long outbox_id;
    long long message_id;
    long long attempt;       /* 1 = first */
    const char *channel;     /* email, slack, teams, wechat */
    const char *kind;        /* alarm.raise, test, ... */
    const char *language;
    const char *severity;    /* alert, warning, ok, info */
    const char *title;
    const char *body;        /* may be "" */
    const char *fields_json; /* [{"name":..,"value":..}], may be NULL */
    const char *link_url;    /* may be NULL */
    const char *link_label;  /* may be NULL: notify_link_label(language) */
} notify_item;

/* Slack's limits that shape the payload (Block Kit). */
#define NOTIFY_SLACK_HEADER_MAX 150
#define NOTIFY_SLACK_TEXT_MAX 3000
/* WeChat Work group robots take at most 4096 bytes of markdown. */
#define NOTIFY_WECHAT_MAX_BYTES 4096

/* The default label of a message's link in "language" ("Open in Metron"). */
const char *notify_link_label(const char *language);
/* "Metron · message 1234" in the language (English when unknown): what a
 * mail's signature and a Slack message's context say of the message, so
 * that a person can name it to support; its kind stays in the machine
 * formats (webhook JSON), never in the text a person reads. */
void notify_reference(const char *language, long long message_id, char *out, size_t size);

/* The JSON body for the webhook of it->channel (slack, teams, wechat), as
 * a NUL-terminated string the caller frees; NULL when out of memory or for
 * another channel. */
char *notify_format_webhook(const notify_item *it);

/* The plain-text body of the mail (UTF-8, lines joined with "\n"); caller
 * frees; NULL when out of memory. */
char *notify_format_mail(const notify_item *it);

/* What to do after an answer. */
typedef enum {
    NOTIFY_SENT = 0,      /* the receiver took it */
    NOTIFY_RETRY,         /* a failure that may pass: try again after the back-off */
    NOTIFY_THROTTLED,     /* the receiver asks us to slow down: try again after *retry_ms */
    NOTIFY_PERMANENT      /* trying again cannot help (the URL is gone, the payload refused) */
} notify_verdict;

/* The meaning of HTTP answer "status" with the first "body_len" bytes of
 * its body "body" (may be NULL) from the webhook of "channel". "retry_after"
 * is the Retry-After header's value or NULL; "now" the current time for an
 * HTTP-date in it. Sets *retry_ms for NOTIFY_THROTTLED (the header's delay,
 * else 30 s for Slack/Teams, 60 s for WeChat; at most one hour) and a short
 * English reason in "why" (for the delivery log) for anything but
 * NOTIFY_SENT. Reads "body" only within body_len. */
notify_verdict notify_classify_webhook(const char *channel, long status, const char *body,
                                       size_t body_len, const char *retry_after, time_t now,
                                       long long *retry_ms, char *why, size_t why_cap);

/* A Retry-After value (RFC 9110: delay-seconds or an HTTP-date) as
 * milliseconds from "now", 0 for a date in the past; -1 when it is neither
 * (or NULL). At most one hour. */
long long notify_retry_after_ms(const char *value, time_t now);

/* How long to wait before try number "failures" + 1 after "failures"
 * failures: base_ms * 2^(failures - 1), at most cap_ms, then a random
 * point in its upper half ("jitter" in [0, 1), e.g. from drand48_r). */
long long notify_backoff_ms(int failures, long long base_ms, long long cap_ms, double jitter);


/* Make the first "len" bytes of "s" storable text in place: invalid UTF-8
 * and control characters other than tab and line feed become '?', and a
 * NUL byte ends it; s[result] is set to NUL ("s" has room for len + 1
 * bytes). Returns the new length. */
size_t notify_clean_text(char *s, size_t len);

#endif
