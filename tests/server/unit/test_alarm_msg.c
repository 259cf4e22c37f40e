/* server/svc/alarm_msg.c: how server texts (alarm, file-alarm and app
 * mails, the stored notices) write a time: alarm_msg_time() in the form of
 * the portal's formatDateTime(t, { seconds: true }) in each of the seven
 * languages, and the zone as its UTC offset, never the zone's id. */
#include <string.h>

#include "alarm_msg.h"
#include "t.h"

typedef struct {
    const char *lang, *local, *want;
} time_case;

/* What Node's Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle:
 * 'medium' }) writes for each (the portal's form, seconds shown), every
 * month in every language. */
static const time_case time_cases[] = {
    {"zh-CN", "2026-12-07 03:22:53", "2026年12月7日 03:22:53"},
    {"zh-CN", "2026-01-02 13:04:05", "2026年1月2日 13:04:05"},
    {"zh-CN", "2026-05-09 00:00:00", "2026年5月9日 00:00:00"},
    {"zh-CN", "2026-09-30 23:59:09", "2026年9月30日 23:59:09"},
    {"zh-CN", "2026-07-15 12:30:00", "2026年7月15日 12:30:00"},
    {"zh-CN", "2027-01-10 01:00:59", "2027年1月10日 01:00:59"},
    {"zh-CN", "2027-02-11 03:05:58", "2027年2月11日 03:05:58"},
    {"zh-CN", "2027-03-12 05:10:57", "2027年3月12日 05:10:57"},
    {"zh-CN", "2027-04-13 07:15:56", "2027年4月13日 07:15:56"},
    {"zh-CN", "2027-05-14 09:20:55", "2027年5月14日 09:20:55"},
    {"zh-CN", "2027-06-15 11:25:54", "2027年6月15日 11:25:54"},
    {"zh-CN", "2027-07-16 13:30:53", "2027年7月16日 13:30:53"},
    {"zh-CN", "2027-08-17 15:35:52", "2027年8月17日 15:35:52"},
    {"zh-CN", "2027-09-18 17:40:51", "2027年9月18日 17:40:51"},
    {"zh-CN", "2027-10-19 19:45:50", "2027年10月19日 19:45:50"},
    {"zh-CN", "2027-11-20 21:50:49", "2027年11月20日 21:50:49"},
    {"zh-CN", "2027-12-21 23:55:48", "2027年12月21日 23:55:48"},
    {"ja", "2026-12-07 03:22:53", "2026/12/07 3:22:53"},
    {"ja", "2026-01-02 13:04:05", "2026/01/02 13:04:05"},
    {"ja", "2026-05-09 00:00:00", "2026/05/09 0:00:00"},
    {"ja", "2026-09-30 23:59:09", "2026/09/30 23:59:09"},
    {"ja", "2026-07-15 12:30:00", "2026/07/15 12:30:00"},
    {"ja", "2027-01-10 01:00:59", "2027/01/10 1:00:59"},
    {"ja", "2027-02-11 03:05:58", "2027/02/11 3:05:58"},
    {"ja", "2027-03-12 05:10:57", "2027/03/12 5:10:57"},
    {"ja", "2027-04-13 07:15:56", "2027/04/13 7:15:56"},
    {"ja", "2027-05-14 09:20:55", "2027/05/14 9:20:55"},
    {"ja", "2027-06-15 11:25:54", "2027/06/15 11:25:54"},
    {"ja", "2027-07-16 13:30:53", "2027/07/16 13:30:53"},
    {"ja", "2027-08-17 15:35:52", "2027/08/17 15:35:52"},
    {"ja", "2027-09-18 17:40:51", "2027/09/18 17:40:51"},
    {"ja", "2027-10-19 19:45:50", "2027/10/19 19:45:50"},
    {"ja", "2027-11-20 21:50:49", "2027/11/20 21:50:49"},
    {"ja", "2027-12-21 23:55:48", "2027/12/21 23:55:48"},
    {"en", "2026-12-07 03:22:53", "Dec 7, 2026, 3:22:53 AM"},
    {"en", "2026-01-02 13:04:05", "Jan 2, 2026, 1:04:05 PM"},
    {"en", "2026-05-09 00:00:00", "May 9, 2026, 12:00:00 AM"},
    {"en", "2026-09-30 23:59:09", "Sep 30, 2026, 11:59:09 PM"},
    {"en", "2026-07-15 12:30:00", "Jul 15, 2026, 12:30:00 PM"},
    {"en", "2027-01-10 01:00:59", "Jan 10, 2027, 1:00:59 AM"},
    {"en", "2027-02-11 03:05:58", "Feb 11, 2027, 3:05:58 AM"},
    {"en", "2027-03-12 05:10:57", "Mar 12, 2027, 5:10:57 AM"},
    {"en", "2027-04-13 07:15:56", "Apr 13, 2027, 7:15:56 AM"},
    {"en", "2027-05-14 09:20:55", "May 14, 2027, 9:20:55 AM"},
    {"en", "2027-06-15 11:25:54", "Jun 15, 2027, 11:25:54 AM"},
    {"en", "2027-07-16 13:30:53", "Jul 16, 2027, 1:30:53 PM"},
    {"en", "2027-08-17 15:35:52", "Aug 17, 2027, 3:35:52 PM"},
    {"en", "2027-09-18 17:40:51", "Sep 18, 2027, 5:40:51 PM"},
    {"en", "2027-10-19 19:45:50", "Oct 19, 2027, 7:45:50 PM"},
    {"en", "2027-11-20 21:50:49", "Nov 20, 2027, 9:50:49 PM"},
    {"en", "2027-12-21 23:55:48", "Dec 21, 2027, 11:55:48 PM"},
    {"es", "2026-12-07 03:22:53", "7 dic 2026, 3:22:53"},
    {"es", "2026-01-02 13:04:05", "2 ene 2026, 13:04:05"},
    {"es", "2026-05-09 00:00:00", "9 may 2026, 0:00:00"},
    {"es", "2026-09-30 23:59:09", "30 sept 2026, 23:59:09"},
    {"es", "2026-07-15 12:30:00", "15 jul 2026, 12:30:00"},
    {"es", "2027-01-10 01:00:59", "10 ene 2027, 1:00:59"},
    {"es", "2027-02-11 03:05:58", "11 feb 2027, 3:05:58"},
    {"es", "2027-03-12 05:10:57", "12 mar 2027, 5:10:57"},
    {"es", "2027-04-13 07:15:56", "13 abr 2027, 7:15:56"},
    {"es", "2027-05-14 09:20:55", "14 may 2027, 9:20:55"},
    {"es", "2027-06-15 11:25:54", "15 jun 2027, 11:25:54"},
    {"es", "2027-07-16 13:30:53", "16 jul 2027, 13:30:53"},
    {"es", "2027-08-17 15:35:52", "17 ago 2027, 15:35:52"},
    {"es", "2027-09-18 17:40:51", "18 sept 2027, 17:40:51"},
    {"es", "2027-10-19 19:45:50", "19 oct 2027, 19:45:50"},
    {"es", "2027-11-20 21:50:49", "20 nov 2027, 21:50:49"},
    {"es", "2027-12-21 23:55:48", "21 dic 2027, 23:55:48"},
    {"fr", "2026-12-07 03:22:53", "7 déc. 2026, 03:22:53"},
    {"fr", "2026-01-02 13:04:05", "2 janv. 2026, 13:04:05"},
    {"fr", "2026-05-09 00:00:00", "9 mai 2026, 00:00:00"},
    {"fr", "2026-09-30 23:59:09", "30 sept. 2026, 23:59:09"},
    {"fr", "2026-07-15 12:30:00", "15 juil. 2026, 12:30:00"},
    {"fr", "2027-01-10 01:00:59", "10 janv. 2027, 01:00:59"},
    {"fr", "2027-02-11 03:05:58", "11 févr. 2027, 03:05:58"},
    {"fr", "2027-03-12 05:10:57", "12 mars 2027, 05:10:57"},
    {"fr", "2027-04-13 07:15:56", "13 avr. 2027, 07:15:56"},
    {"fr", "2027-05-14 09:20:55", "14 mai 2027, 09:20:55"},
    {"fr", "2027-06-15 11:25:54", "15 juin 2027, 11:25:54"},
    {"fr", "2027-07-16 13:30:53", "16 juil. 2027, 13:30:53"},
    {"fr", "2027-08-17 15:35:52", "17 août 2027, 15:35:52"},
    {"fr", "2027-09-18 17:40:51", "18 sept. 2027, 17:40:51"},
    {"fr", "2027-10-19 19:45:50", "19 oct. 2027, 19:45:50"},
    {"fr", "2027-11-20 21:50:49", "20 nov. 2027, 21:50:49"},
    {"fr", "2027-12-21 23:55:48", "21 déc. 2027, 23:55:48"},
    {"de", "2026-12-07 03:22:53", "07.12.2026, 03:22:53"},
    {"de", "2026-01-02 13:04:05", "02.01.2026, 13:04:05"},
    {"de", "2026-05-09 00:00:00", "09.05.2026, 00:00:00"},
    {"de", "2026-09-30 23:59:09", "30.09.2026, 23:59:09"},
    {"de", "2026-07-15 12:30:00", "15.07.2026, 12:30:00"},
    {"de", "2027-01-10 01:00:59", "10.01.2027, 01:00:59"},
    {"de", "2027-02-11 03:05:58", "11.02.2027, 03:05:58"},
    {"de", "2027-03-12 05:10:57", "12.03.2027, 05:10:57"},
    {"de", "2027-04-13 07:15:56", "13.04.2027, 07:15:56"},
    {"de", "2027-05-14 09:20:55", "14.05.2027, 09:20:55"},
    {"de", "2027-06-15 11:25:54", "15.06.2027, 11:25:54"},
    {"de", "2027-07-16 13:30:53", "16.07.2027, 13:30:53"},
    {"de", "2027-08-17 15:35:52", "17.08.2027, 15:35:52"},
    {"de", "2027-09-18 17:40:51", "18.09.2027, 17:40:51"},
    {"de", "2027-10-19 19:45:50", "19.10.2027, 19:45:50"},
    {"de", "2027-11-20 21:50:49", "20.11.2027, 21:50:49"},
    {"de", "2027-12-21 23:55:48", "21.12.2027, 23:55:48"},
    {"it", "2026-12-07 03:22:53", "7 dic 2026, 03:22:53"},
    {"it", "2026-01-02 13:04:05", "2 gen 2026, 13:04:05"},
    {"it", "2026-05-09 00:00:00", "9 mag 2026, 00:00:00"},
    {"it", "2026-09-30 23:59:09", "30 set 2026, 23:59:09"},
    {"it", "2026-07-15 12:30:00", "15 lug 2026, 12:30:00"},
    {"it", "2027-01-10 01:00:59", "10 gen 2027, 01:00:59"},
    {"it", "2027-02-11 03:05:58", "11 feb 2027, 03:05:58"},
    {"it", "2027-03-12 05:10:57", "12 mar 2027, 05:10:57"},
    {"it", "2027-04-13 07:15:56", "13 apr 2027, 07:15:56"},
    {"it", "2027-05-14 09:20:55", "14 mag 2027, 09:20:55"},
    {"it", "2027-06-15 11:25:54", "15 giu 2027, 11:25:54"},
    {"it", "2027-07-16 13:30:53", "16 lug 2027, 13:30:53"},
    {"it", "2027-08-17 15:35:52", "17 ago 2027, 15:35:52"},
    {"it", "2027-09-18 17:40:51", "18 set 2027, 17:40:51"},
    {"it", "2027-10-19 19:45:50", "19 ott 2027, 19:45:50"},
    {"it", "2027-11-20 21:50:49", "20 nov 2027, 21:50:49"},
    {"it", "2027-12-21 23:55:48", "21 dic 2027, 23:55:48"},
};

static void alarm_msg_writes_times_as_the_portal_does_in_seven_languages(void)
{
    char out[64];
    for (size_t i = 0; i < sizeof time_cases / sizeof time_cases[0]; i++) {
        alarm_msg_time(time_cases[i].local, time_cases[i].lang, out, sizeof out);
        T_EQ_STR(out, time_cases[i].want);
    }
    /* Another language: English, as the words. */
    alarm_msg_time("2026-12-07 03:22:53", "pt", out, sizeof out);
    T_EQ_STR(out, "Dec 7, 2026, 3:22:53 AM");
    /* Not a time: as it is. */
    alarm_msg_time("", "de", out, sizeof out);
    T_EQ_STR(out, "");
    alarm_msg_time("2026-12-07", "de", out, sizeof out);
    T_EQ_STR(out, "2026-12-07");
    alarm_msg_time("2026-13-07 03:22:53", "de", out, sizeof out);
    T_EQ_STR(out, "2026-13-07 03:22:53");
    /* Cut to the buffer, never inside a character. */
    alarm_msg_time("2026-12-07 03:22:53", "fr", out, 5);
    T_EQ_STR(out, "7 d");
    alarm_msg_time("2026-12-07 03:22:53", "fr", out, 6);
    T_EQ_STR(out, "7 dé");
}

static void alarm_msg_writes_the_zone_as_its_utc_offset(void)
{
    static const struct {
        int s;
        const char *want;
    } c[] = {{32400, "UTC+09:00"},       {0, "UTC+00:00"},           {19800, "UTC+05:30"},
             {20700, "UTC+05:45"},       {-12600, "UTC\u221203:30"}, {-9000, "UTC\u221202:30"},
             {-18000, "UTC\u221205:00"}, {-14400, "UTC\u221204:00"}, {50400, "UTC+14:00"},
             {-39600, "UTC\u221211:00"}, {34200, "UTC+09:30"},       {33539, "UTC+09:19"},
             {-20, "UTC+00:00"}};
    char out[24];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        alarm_msg_utc_offset(c[i].s, out, sizeof out);
        T_EQ_STR(out, c[i].want);
    }
}

static db_alarm_event_msg event(const char *local, int offset)
{
    db_alarm_event_msg m;
    memset(&m, 0, sizeof m);
    strcpy(m.kind, "raise");
    strcpy(m.cause, "rule");
    strcpy(m.rule_name, "Boiler");
    strcpy(m.rule_text, "CH1 > 30");
    strcpy(m.severity, "alert");
    strcpy(m.ch_name[0], "Temp");
    strcpy(m.ch_unit[0], "°C");
    m.n_ch = 1;
    m.v[0] = 31;
    strcpy(m.local_time, local);
    m.utc_offset = offset;
    return m;
}

static const char *field(const alarm_words *w, const char *name)
{
    for (int i = 0; i < w->text.n_fields; i++) {
        if (strcmp(w->fields[i].name, name) == 0) {
            return w->fields[i].value;
        }
    }
    return "";
}

static void alarm_msg_sentences_carry_the_time_and_offset_never_the_zone_id(void)
{
    static alarm_words w;
    /* A DST instant: Europe/Berlin just after the spring change, 2026-03-29
     * 01:00Z = 03:00 CEST, +02:00 (the database's offset then, not +01:00). */
    db_alarm_event_msg m = event("2026-03-29 03:00:00", 7200);
    alarm_msg_event(&m, ALARM_MSG_RAISE, "de", NULL, &w);
    T_EQ_STR(w.body, "Der Alarm „Boiler“ wurde am 29.03.2026, 03:00:00 (UTC+02:00) ausgelöst.");
    T_EQ_STR(field(&w, "Zeit"), "29.03.2026, 03:00:00 (UTC+02:00)");
    /* America/St_Johns: a negative half-hour offset. */
    m = event("2026-12-04 20:01:05", -12600);
    alarm_msg_event(&m, ALARM_MSG_CLEAR, "en", NULL, &w);
    T_EQ_STR(w.body, "The alarm \"Boiler\" cleared at Dec 4, 2026, 8:01:05 PM (UTC\u221203:30).");
    T_EQ_STR(field(&w, "Time"), "Dec 4, 2026, 8:01:05 PM (UTC\u221203:30)");
    m = event("2026-12-04 20:01:05", 32400);
    alarm_msg_event(&m, ALARM_MSG_RAISE, "ja", NULL, &w);
    T_EQ_STR(w.body, "アラーム「Boiler」が 2026/12/04 20:01:05（UTC+09:00）に発生しました。");
    alarm_msg_event(&m, ALARM_MSG_REPEAT, "fr", NULL, &w);
    T_EQ_STR(w.body, "L’alarme « Boiler » est toujours active (depuis le 4 déc. 2026, 20:01:05, "
                     "UTC+09:00).");
    /* Asia/Kolkata. */
    alarm_msg_app(false, true, "Logger", "", "2026-01-02 13:04:05", 19800, 10, "zh-CN", &w);
    T_EQ_STR(w.body, "应用“Logger”于 2026年1月2日 13:04:05（UTC+05:30）断开连接。");
    alarm_msg_app(true, false, "Logger", "", "2026-01-02 13:04:05", 0, 10, "es", &w);
    T_EQ_STR(w.body, "La aplicación «Logger» vuelve a enviar datos desde el 2 ene 2026, 13:04:05 "
                     "(UTC+00:00).");
    alarm_msg_file("A.CSV", "Kiln hot", "", "CH1 > 30", 2, "2022-06-06 05:43:35", -14400, "it",
                   NULL, &w);
    T_EQ_STR(w.body, "Il file «A.CSV» soddisfa l’allarme «Kiln hot» 2 volte, la prima il 6 giu "
                     "2022, 05:43:35 (UTC\u221204:00).");
    T_TRUE(strstr(w.body, "/") == NULL);
    /* Met once: the singular, no "time(s)" or "vez/veces". */
    alarm_msg_file("A.CSV", "Kiln hot", "", "CH1 > 30", 1, "2022-06-06 05:43:35", 0, "en", NULL, &w);
    T_EQ_STR(w.body, "The file \"A.CSV\" meets the alarm \"Kiln hot\" 1 time, at Jun 6, 2022, "
                     "5:43:35 AM (UTC+00:00).");
    alarm_msg_file("A.CSV", "Kiln hot", "", "CH1 > 30", 1, "2022-06-06 05:43:35", 0, "es", NULL, &w);
    T_EQ_STR(w.body, "El archivo «A.CSV» cumple la alarma «Kiln hot» 1 vez, el 6 jun 2022, "
                     "5:43:35 (UTC+00:00).");
    alarm_msg_file("A.CSV", "Kiln hot", "", "CH1 > 30", 3, "2022-06-06 05:43:35", 0, "es", NULL, &w);
    T_TRUE(strstr(w.body, " 3 veces, la primera ") != NULL);
}

/* alarm_msg_date(): Node's Intl.DateTimeFormat(lang, { dateStyle: 'medium' })
 * (the portal's formatDate()), and the over-quota notice's deadline in it. */
static void alarm_msg_writes_dates_as_the_portal_does(void)
{
    static const time_case c[] = {
        {"zh-CN", "2027-01-08", "2027年1月8日"}, {"ja", "2027-01-08", "2027/01/08"},
        {"en", "2027-01-08", "Jan 8, 2027"},     {"es", "2027-01-08", "8 ene 2027"},
        {"fr", "2027-01-08", "8 janv. 2027"},    {"de", "2027-01-08", "08.01.2027"},
        {"it", "2027-01-08", "8 gen 2027"},      {"de", "2027-13-08", "2027-13-08"},
        {"en", "2027-01-08 00:00:00", "2027-01-08 00:00:00"}};
    char out[64];
    alarm_words w;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        alarm_msg_date(c[i].local, c[i].lang, out, sizeof out);
        T_EQ_STR(out, c[i].want);
    }
    alarm_msg_over_quota("Acme", 3000000000LL, 2000000000LL, "2027-01-08", "de", &w);
    T_TRUE(strstr(w.body, "08.01.2027") != NULL);
    T_TRUE(strstr(w.body, "2027-01-08") == NULL);
}

void suite_alarm_msg(void)
{
    T_RUN(alarm_msg_writes_dates_as_the_portal_does);
    T_RUN(alarm_msg_writes_times_as_the_portal_does_in_seven_languages);
    T_RUN(alarm_msg_writes_the_zone_as_its_utc_offset);
    T_RUN(alarm_msg_sentences_carry_the_time_and_offset_never_the_zone_id);
}
