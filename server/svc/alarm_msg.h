/* The words of alarm notifications and server notices in the seven portal
 * languages (I1, R7): titles, sentences and field names for the outbox
 * (mail, Slack, Teams, WeChat) and the N1 inbox. Plain UTF-8 text; each
 * channel escapes it for its own format. Pure: no database, no clock. */
#ifndef MTS_ALARM_MSG_H
#define MTS_ALARM_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "db_alarm.h"
#include "db_notice.h"
#include "svc_notify.h"

#define ALARM_LANGS 7

/* The seven languages in a fixed order ("zh-CN", "ja", "en", "es", "fr",
 * "de", "it"), and the index of "lang" among them (-1: none). */
extern const char *const alarm_langs[ALARM_LANGS];
int alarm_lang_index(const char *lang);

/* A message's words in one language, with room for every string:
 * "text" points into the buffers (valid while "w" lives). */
typedef struct {
    notify_text text;
    notify_field fields[6];
    char title[640];
    char body[2400];
    char field_names[6][64];
    char field_values[6][640];
    char link_label[96];
} alarm_words;

/* What happened to an alarm, for alarm_msg_event(). */
typedef enum {
    ALARM_MSG_RAISE = 1,
    ALARM_MSG_CLEAR,
    ALARM_MSG_REPEAT,
    ALARM_MSG_SPECIAL,
    ALARM_MSG_SPECIAL_END
} alarm_msg_kind;

/* The words of event "m" as "kind" in language "lang"; "link" (NULL: none)
 * is the portal link the message carries (A8: a temporary view-only
 * login). */
void alarm_msg_event(const db_alarm_event_msg *m, alarm_msg_kind kind, const char *lang,
                     const char *link, alarm_words *w);

/* S6: app "app_name" (of group "group_name", may be "") disconnected
 * ("connected" false: nothing since "local_time" at "utc_offset", after "minutes"
 * minutes without a batch; or "cause_app": the app said so) or connected
 * again at "local_time". */
void alarm_msg_app(bool connected, bool cause_app, const char *app_name, const char *group_name,
                   const char *local_time, int utc_offset, int minutes, const char *lang,
                   alarm_words *w);

/* S7: account "account_name" has "percent_left" % of its storage left
 * ("used"/"limit" bytes). */
void alarm_msg_storage(const char *account_name, int percent_left, long long used,
                       long long limit, const char *lang, alarm_words *w);

/* S8 / L3: account "account_name" uses "used" bytes of its "limit": unless
 * below the quota by "deadline" (YYYY-MM-DD), everything it stores is
 * deleted. */
void alarm_msg_over_quota(const char *account_name, long long used, long long limit,
                          const char *deadline, const char *lang, alarm_words *w);

/* S8: everything "account_name" stored was deleted after 31 days over its
 * "limit": "r" says what (bytes, files, report files, pictures). */
void alarm_msg_over_quota_deleted(const char *account_name, long long limit,
                                  const db_quota_removed *r, const char *lang, alarm_words *w);

/* S9 / L6: the licence (plan "plan_title") of "account_name" expires on
 * "expiry" (YYYY-MM-DD) in "days_left" days; "expired": it expired then. */
void alarm_msg_licence(const char *account_name, const char *plan_title, const char *expiry,
                       int days_left, bool expired, const char *lang, alarm_words *w);

/* R6: file "file_name" meets rule "rule_name" "count" times, the first at
 * "local_time" at "utc_offset". */
void alarm_msg_file(const char *file_name, const char *rule_name, const char *group_name,
                    const char *rule_text, int count, const char *local_time, int utc_offset,
                    const char *lang, const char *link, alarm_words *w);

/* The one way server texts write a time (I1): "local_time" (the account's
 * local "YYYY-MM-DD HH:MM:SS", as the database gives it) as the portal's
 * formatDateTime(t, { seconds: true }) writes it in "lang" (Intl's medium
 * date and time): "2026年12月7日 03:22:53", "2026/12/07 3:22:53",
 * "Dec 7, 2026, 3:22:53 AM", "7 dic 2026, 3:22:53", "7 déc. 2026, 03:22:53",
 * "07.12.2026, 03:22:53", "7 dic 2026, 03:22:53" (other languages: English).
 * A text that is not such a time is copied as it is. */
void alarm_msg_time(const char *local_time, const char *lang, char *out, size_t cap);

/* A date "ymd" ("YYYY-MM-DD") as the portal's formatDate() writes it in
 * "lang" (Intl's medium date, alarm_msg_time() without its time):
 * "2026年12月7日", "2026/12/07", "Dec 7, 2026", "07.12.2026", ...
 * A text that is not such a date is copied as it is. */
void alarm_msg_date(const char *ymd, const char *lang, char *out, size_t cap);

/* The zone of a time as people read it: "utc_offset" seconds east of UTC
 * (the database's offset of the account's zone at that instant, DST
 * included) as "UTC+09:00", "UTC−03:30" (a minus sign, U+2212),
 * "UTC+00:00"; never the zone's IANA id. */
void alarm_msg_utc_offset(int utc_offset, char *out, size_t cap);

/* A value as people read it: "21.5 °C", or the special value's name in
 * "lang" ("sensor break"). */
void alarm_msg_value(double v, const char *unit, const char *lang, char *out, size_t cap);

#endif
