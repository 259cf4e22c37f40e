/* The words of reports in the seven portal languages (I1), and how a
 * report writes numbers. The catalogue is on the server because reports
 * are rendered here (PDF, XLSX, CSV, the mail that announces them); its
 * one table is report_text.c. */
#ifndef MTS_REPORT_TEXT_H
#define MTS_REPORT_TEXT_H

#include <stddef.h>

/* X(id, English). Every language has every entry (report_text.c checks it
 * at compile time by the table's shape). Entries with a printf directive
 * say which in their name's comment. */
#define REPORT_TEXT_TABLE(X)                                                                 \
    X(DAILY, "Daily report")                                                                 \
    X(WEEKLY, "Weekly report")                                                               \
    X(MONTHLY, "Monthly report")                                                             \
    X(CUSTOM, "Report")                                                                      \
    X(GROUP, "Measurement group")                                                            \
    X(PERIOD, "Period")                                                                      \
    X(TIME_ZONE, "Time zone")                                                                \
    X(CREATED, "Created")                                                                    \
    X(SUMMARY, "Summary")                                                                    \
    X(CHARTS, "Charts")                                                                      \
    X(ALARMS, "Alarm events")                                                                \
    X(CHANNEL, "Channel")                                                                    \
    X(UNIT, "Unit")                                                                          \
    X(MIN, "Minimum")                                                                        \
    X(TMIN, "Time of minimum")                                                               \
    X(MAX, "Maximum")                                                                        \
    X(TMAX, "Time of maximum")                                                               \
    X(MEAN, "Mean")                                                                          \
    X(COUNT, "Values")                                                                       \
    X(SPECIAL, "Special values")                                                             \
    X(NO_DATA, "No data in this period")                                                     \
    X(NO_EVENTS, "No alarm events in this period.")                                          \
    X(MORE_EVENTS, "%zu more events of this period are not listed.") /* %zu */               \
    X(TIME, "Time")                                                                          \
    X(EVENT, "Event")                                                                        \
    X(ALARM, "Alarm")                                                                        \
    X(VALUE, "Value")                                                                        \
    X(SEVERITY, "Severity")                                                                  \
    X(EV_RAISE, "Raised")                                                                    \
    X(EV_CLEAR, "Cleared")                                                                   \
    X(EV_SPECIAL, "Special value")                                                           \
    X(EV_SPECIAL_END, "Special value ended")                                                 \
    X(SEV_ALERT, "Alert")                                                                    \
    X(SEV_WARNING, "Warning")                                                                \
    X(SV_MISSING, "missing")                                                                 \
    X(SV_OVER_POS, "over range (+)")                                                         \
    X(SV_OVER_NEG, "over range (-)")                                                         \
    X(SV_BREAK, "sensor break")                                                              \
    X(SV_ERROR, "computation error")                                                         \
    X(PAGE, "Page %d of %d") /* %d %d */                                                     \
    X(SHEET_SAMPLES, "Samples")                                                              \
    X(MARKS, "Marks under a chart: special values in that stretch of time.")                 \
    X(COMPUTED, "computed")                                                                  \
    X(ALL_CHANNELS, "All channels")                                                          \
    X(TIMES_IN, "Times are local times in %s.") /* %s */                                     \
    X(MAIL_SUBJECT, "Report \"%s\": %s") /* %s name, %s period */                             \
    X(MAIL_BODY, ("The report \"%s\" of the measurement group \"%s\" for %s is ready. "      \
                  "It is kept in the drive of your Metron account.")) /* %s %s %s */         \
    X(MAIL_OPEN, "Open the report")                                                          \
    X(MAIL_ATTACHED, "The PDF is attached to this mail.")                                    \
    X(MAIL_NOT_ATTACHED, ("The PDF is larger than %s and is not attached: open it with the " \
                          "link.")) /* %s size */                                             \
    X(FILES, "Files")

typedef enum {
#define REPORT_TEXT_ENUM_(id, en) RT_##id,
    REPORT_TEXT_TABLE(REPORT_TEXT_ENUM_)
#undef REPORT_TEXT_ENUM_
    RT_COUNT_
} report_text_id;

/* The text "id" in "language" (one of the seven; anything else gives
 * English). A static string. */
const char *report_text(const char *language, report_text_id id);

/* The name of special value kind "kind" (mt_sv, 1..5) in "language". */
const char *report_text_special(const char *language, int kind);

/* A sample value as text that reads back to the same double: 21.37,
 * 0.30000000000000004 (what the data API writes). "out" holds 32 bytes.
 * Returns the length. */
size_t report_num_exact(double v, char out[32]);

/* A value as the PDF shows it: report_num_exact() when that needs at
 * most 10 significant digits (every logger value), else 10 significant
 * digits (a computed channel's 25.009999999999998 is shown 25.01). "out"
 * holds 48 bytes. */
size_t report_num_show(double v, char out[48]);

/* A computed figure (a mean) with 7 significant digits: 21.40871, 1234568,
 * 0.0001234568 ("%.7g" without an exponent below 1e15, trailing zeros
 * dropped). "out" holds 48 bytes. */
size_t report_num_mean(double v, char out[48]);

#endif
