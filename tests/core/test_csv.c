/* Tests of the HIOKI text-export reader (core/src/csv.c). Fixtures in
 * tests/fixtures/csv/ are hand-written from docs/formats/hioki-csv.md; the
 * expected times are worked out by hand in the comments. */
#include <stdlib.h>

#include "../t.h"
#include "alloc_int.h"
#include "csv_int.h"
#include "mt/csv.h"

/* 2022-06-06 00:00:00Z: 2022-01-01 is day 18993, + 31+28+31+30+31 + 5 = 19149. */
#define DAY_2022_06_06 INT64_C(1654473600)

static mt_status read_str(const char *s, const mt_csv_options *opt, mt_csv **out, mt_error *err)
{
    return mt_csv_read(s, strlen(s), opt, out, err);
}

/* Reading "text" must fail with "code" at "line":"col", leave *out NULL. */
#define T_CSV_ERR(text, opt, want_code, want_line, want_col)                   \
    do {                                                                       \
        mt_csv *t_c_ = (mt_csv *)1;                                            \
        mt_error t_e_;                                                         \
        T_ERR(read_str((text), (opt), &t_c_, &t_e_), (want_code));             \
        T_TRUE(t_c_ == NULL);                                                  \
        T_EQ_INT(t_e_.code, (want_code));                                      \
        if (t_e_.line != (size_t)(want_line) || t_e_.col != (size_t)(want_col)) { \
            T_FAIL("at %zu:%zu, want %d:%d (%s)", t_e_.line, t_e_.col,        \
                   (int)(want_line), (int)(want_col), t_e_.msg);               \
        }                                                                      \
    } while (0)

static mt_csv *read_fixture(const char *name, int utc_off, mt_error *err)
{
    size_t len;
    unsigned char *buf = t_fixture(name, &len);
    mt_csv_options opt;
    mt_csv *c = NULL;
    memset(&opt, 0, sizeof opt);
    opt.utc_offset_minutes = utc_off;
    if (buf && mt_csv_read((const char *)buf, len, &opt, &c, err) != MT_OK) {
        c = NULL;
    }
    free(buf);
    return c;
}

#define T_FIXTURE(var, name, off)                                              \
    mt_error var##_err;                                                        \
    mt_csv *var = read_fixture(name, off, &var##_err);                         \
    if (!var) {                                                                \
        T_FAIL("%s: %s at %zu:%zu: %s", name, mt_errname(var##_err.code),      \
               var##_err.line, var##_err.col, var##_err.msg);                  \
    }

/* ---- unhappy paths ------------------------------------------------------ */

static void csv_rejects_invalid_arguments(void)
{
    mt_csv *c = NULL;
    mt_error err;
    mt_csv_options opt;
    memset(&opt, 0, sizeof opt);
    T_ERR(mt_csv_read("x", 1, NULL, NULL, &err), MT_EINVAL);
    T_ERR(mt_csv_read(NULL, 3, NULL, &c, &err), MT_EINVAL);
    opt.utc_offset_minutes = 18 * 60 + 1;
    T_ERR(read_str("Time,a\n0,1\n", &opt, &c, &err), MT_EINVAL);
    T_TRUE(c == NULL);
    T_ERR(read_str("Time,a\n0,1\n", &opt, &c, NULL), MT_EINVAL); /* NULL err is fine */
}

static void csv_rejects_binary_mem_file(void)
{
    static const char mem[] = "HIOKI\0\1\2\3MEMDATA";
    mt_csv *c = NULL;
    mt_error err;
    T_ERR(mt_csv_read(mem, sizeof mem - 1, NULL, &c, &err), MT_EFORMAT);
    T_EQ_INT(err.line, 1);
    T_EQ_INT(err.col, 6);
    T_EQ_INT(err.pos, 5);
    T_TRUE(c == NULL);
    T_CSV_ERR("Time,a\n0,1\x02\n", NULL, MT_EFORMAT, 2, 4);
}

static void csv_rejects_empty_file(void)
{
    T_CSV_ERR("", NULL, MT_EFORMAT, 1, 1);
    T_CSV_ERR("\n\r\n  \n", NULL, MT_EFORMAT, 4, 1);
    T_CSV_ERR("\xEF\xBB\xBF", NULL, MT_EFORMAT, 1, 1);
}

static void csv_reports_unterminated_quote(void)
{
    T_CSV_ERR("\"Time\",\"a\n0,1\n", NULL, MT_ESYNTAX, 1, 8);
    T_CSV_ERR("Time,a\n0,\"1", NULL, MT_ESYNTAX, 2, 3);
}

static void csv_reports_junk_after_closing_quote(void)
{
    T_CSV_ERR("\"Time\"x,\"a\"\n", NULL, MT_ESYNTAX, 1, 7);
}

static void csv_reports_rows_with_too_many_cells(void)
{
    T_CSV_ERR("Time,a\n0,1\n1,2,3\n", NULL, MT_ESYNTAX, 3, 5);
    T_CSV_ERR("Time,a\n0,1\n1,2,3,4\n", NULL, MT_ESYNTAX, 3, 5);
    T_CSV_ERR("Time,a\n0,1\n1,2,,\n", NULL, MT_ESYNTAX, 3, 6);
}

static void csv_reports_rows_with_too_few_cells(void)
{
    T_CSV_ERR("Time,a,b\n0,1,2\n0,1\n", NULL, MT_ESYNTAX, 3, 4);
}

static void csv_reports_unparsable_number(void)
{
    T_CSV_ERR("Time,a\n0,1\n1,1.2.3\n", NULL, MT_ESYNTAX, 3, 3);
    T_CSV_ERR("Time,a\n0,1\n1,12abc\n", NULL, MT_ESYNTAX, 3, 3);
    T_CSV_ERR("Time,a\nzero,1\n", NULL, MT_ESYNTAX, 2, 1);
    T_CSV_ERR("Time,a\n,1\n", NULL, MT_ESYNTAX, 2, 1);
}

static void csv_reports_time_going_backwards(void)
{
    T_CSV_ERR("Time,a\n1,1\n1,1\n0.5,2\n", NULL, MT_EORDER, 4, 1);
}

static void csv_reports_header_without_title_row(void)
{
    T_CSV_ERR("\"CH\",\"a\"\n0,1\n", NULL, MT_EFORMAT, 2, 1);
    T_CSV_ERR("\"File name\",\"x\"\n", NULL, MT_EFORMAT, 2, 1);
    T_CSV_ERR("\"File name\",\"x\"", NULL, MT_EFORMAT, 1, 16);
}

static void csv_reports_overlong_cell_and_line(void)
{
    size_t n = 5000, i;
    char *s = malloc(2 * 1024 * 1024);
    T_TRUE(s != NULL);
    memcpy(s, "Time,", 5);
    memset(s + 5, 'x', n);
    strcpy(s + 5 + n, "\n0,1\n");
    T_CSV_ERR(s, NULL, MT_ELIMIT, 1, 6);
    /* 300 quoted cells of 4000 bytes: each fits, the line does not. */
    strcpy(s, "\"CH\"");
    for (i = 0; i < 300; i++) {
        size_t at = strlen(s);
        s[at] = ',';
        memset(s + at + 1, 'y', 4000);
        s[at + 4001] = '\0';
    }
    strcat(s, "\n");
    T_CSV_ERR(s, NULL, MT_ELIMIT, 1, (1 << 20) + 1);
    free(s);
}

static void csv_reports_too_many_channels(void)
{
    size_t i;
    char *s = malloc(8 * 1200);
    mt_csv_options opt;
    T_TRUE(s != NULL);
    strcpy(s, "Time");
    for (i = 0; i < 1025; i++) {
        strcat(s, ",ab"); /* channel i+1 starts at column 6 + 3i */
    }
    strcat(s, "\n");
    T_CSV_ERR(s, NULL, MT_ELIMIT, 1, 6 + 3 * 1024);
    strcpy(s + strlen(s) - 4, "\n0");
    for (i = 0; i < 1024; i++) {
        strcat(s, ",1");
    }
    strcat(s, "\n"); /* exactly 1024 channels are fine */
    {
        mt_csv *c = NULL;
        mt_error err;
        T_OK_E(read_str(s, NULL, &c, &err), &err);
        T_EQ_INT(mt_csv_channel_count(c), 1024);
        mt_csv_free(c);
    }
    free(s);
    memset(&opt, 0, sizeof opt);
    opt.max_channels = 2;
    T_CSV_ERR("Time,a,b,c\n", &opt, MT_ELIMIT, 1, 10);
    T_CSV_ERR("0,1,2,3,\n", &opt, MT_ELIMIT, 1, 7);
    T_CSV_ERR("\"CH\",\"a\",\"b\",\"c\"\n", &opt, MT_ELIMIT, 1, 14);
}

static void csv_reports_non_integer_in_logic_column(void)
{
    T_CSV_ERR("Time,LOGIC-1\n0,1\n1,1.5\n", NULL, MT_ESYNTAX, 3, 3);
    T_CSV_ERR("\"CH\",\"x\"\n\"Mode\",\"Alarm\"\nTime,x\n0,2.5\n", NULL, MT_ESYNTAX, 4, 3);
    /* Out of int64 range: refused before any conversion (UBSan finding of fuzz_csv). */
    T_CSV_ERR("Time,LOGIC-1\n0,1\n1,1e20\n", NULL, MT_ESYNTAX, 3, 3);
    T_CSV_ERR("Time,LOGIC-1\n0,1\n1,-9.3e18\n", NULL, MT_ESYNTAX, 3, 3);
}

static void csv_reports_mixed_decimal_marks(void)
{
    T_CSV_ERR("Time;a;b\n0;1,5;2.5\n", NULL, MT_ESYNTAX, 2, 7);
    T_CSV_ERR("Time,a\n0,\"1,5\"\n", NULL, MT_ESYNTAX, 2, 3);
}

static void csv_reports_bad_header_cells(void)
{
    T_CSV_ERR("\"Trigger Time\",\"22-13-01 00:00:00\"\n", NULL, MT_ESYNTAX, 1, 16);
    T_CSV_ERR("\"Trigger Time\",\"'22-02-29 00:00:00\"\n", NULL, MT_ESYNTAX, 1, 16);
    T_CSV_ERR("\"Scaling\",\"On\",\"Maybe\"\n", NULL, MT_ESYNTAX, 1, 16);
    T_CSV_ERR("\"Ratio\",\"x1\"\n", NULL, MT_ESYNTAX, 1, 9);
    T_CSV_ERR("\"CH\",\"a\",\"b\"\n\"Time\",\"a[V]\"\n0,1\n", NULL, MT_ESYNTAX, 1, 10);
    T_CSV_ERR("\"Time\"\n0\n", NULL, MT_EFORMAT, 1, 7);
    T_CSV_ERR("\"Ch\",\"Mode\"\n\"CH-1\",\"Voltage\",\"1V\"\n", NULL, MT_ESYNTAX, 2, 18);
}

static void csv_reports_time_format_changes(void)
{
    T_CSV_ERR("Time,a\n0:00:01,1\n2,2\n", NULL, MT_ESYNTAX, 3, 1);
    T_CSV_ERR("Time,a\n22-06-06 00:00:00,1\n1.5,2\n", NULL, MT_ESYNTAX, 3, 1);
    T_CSV_ERR("Time,a\n0:61:00,1\n", NULL, MT_ESYNTAX, 2, 1);
    T_CSV_ERR("Time,a\n1e300,1\n", NULL, MT_ERANGE, 2, 1);
}

/* ---- number scanning ------------------------------------------------------ */

static void csv_numbers_round_like_strtod(void)
{
    static const char *cases[] = {
        "0",  "-0",          "+1.23456E+00", "1.000E-01",  "9.9999E+99",  "-9.9999E+99",
        "1e-320", "123456789012345678901234567890", "0.1", "0.30000000000000004",
        "2.2250738585072011e-308", "1.7976931348623157e308", "1e400", "4.9e-324",
        "9007199254740993", "0.000001", ".5", "5.", "1234567890.0987654321e-5",
        "3.141592653589793238462643383279"};
    size_t i;
    unsigned seed = 12345;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mt__dec d;
        T_TRUE(mt__csv_scan_dec(cases[i], strlen(cases[i]), 0, &d));
        T_SAME_DOUBLE(mt__csv_dec_to_double(&d, cases[i], strlen(cases[i])), strtod(cases[i], NULL));
    }
    for (i = 0; i < 3000; i++) {
        char s[64];
        mt__dec d;
        double x;
        seed = seed * 1103515245u + 12345u;
        x = (double)(seed >> 4) / (double)(1u << 20) * (i % 2 ? -1.0 : 1.0);
        seed = seed * 1103515245u + 12345u;
        snprintf(s, sizeof s, "%.*E", (int)(seed >> 16) % 18, x * pow(10.0, (int)(seed % 40) - 20));
        T_TRUE(mt__csv_scan_dec(s, strlen(s), 0, &d));
        T_SAME_DOUBLE(mt__csv_dec_to_double(&d, s, strlen(s)), strtod(s, NULL));
    }
}

static void csv_numbers_reject_malformed_tokens(void)
{
    static const char *bad[] = {"", "+", "-", ".", "e5", "1e", "1e+", "1..2", "1,5", "0x10",
                                "1 2", "inf", "nan", "--1", "1e5.5"};
    size_t i;
    mt__dec d;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mt__csv_scan_dec(bad[i], strlen(bad[i]), 0, &d)) {
            T_FAIL("accepted \"%s\"", bad[i]);
        }
    }
    T_TRUE(mt__csv_scan_dec("1,5", 3, 1, &d));
    T_EQ_INT(d.mark, ',');
    T_NEAR(mt__csv_dec_to_double(&d, "1,5", 3), 1.5, 0);
}

static void csv_seconds_convert_exactly_to_microseconds(void)
{
    mt__dec d;
    mt_time us = 0;
    T_TRUE(mt__csv_scan_dec("1.000E-01", 9, 0, &d));
    T_TRUE(mt__csv_dec_to_us(&d, "1.000E-01", 9, &us));
    T_EQ_INT(us, 100000);
    T_TRUE(mt__csv_scan_dec("0.0000005", 9, 0, &d)); /* half a microsecond rounds up */
    T_TRUE(mt__csv_dec_to_us(&d, "0.0000005", 9, &us));
    T_EQ_INT(us, 1);
    T_TRUE(mt__csv_scan_dec("-0.0000015", 10, 0, &d));
    T_TRUE(mt__csv_dec_to_us(&d, "-0.0000015", 10, &us));
    T_EQ_INT(us, -2);
    T_TRUE(mt__csv_scan_dec("86400000.000001", 15, 0, &d));
    T_TRUE(mt__csv_dec_to_us(&d, "86400000.000001", 15, &us));
    T_EQ_INT(us, INT64_C(86400000000001));
    T_TRUE(mt__csv_scan_dec("1e13", 4, 0, &d));
    T_TRUE(!mt__csv_dec_to_us(&d, "1e13", 4, &us));
    T_TRUE(mt__csv_parse_clock("100:00:00.25", 12, &us));
    T_EQ_INT(us, INT64_C(360000250000));
    T_TRUE(mt__csv_parse_datetime("1970-01-01T00:00:01.5", 21, &us));
    T_EQ_INT(us, 1500000);
    T_TRUE(!mt__csv_parse_datetime("22-06-06 24:00:00", 17, &us));
    T_TRUE(!mt__csv_parse_datetime("22-06-31 00:00:00", 17, &us));
    T_TRUE(mt__csv_parse_datetime("24-02-29 23:59:59", 17, &us));
}

/* ---- fixtures ------------------------------------------------------------- */

static void csv_reads_lr8450_column_style(void)
{
    const mt_csv_meta *m;
    const mt_csv_channel *ch;
    const mt_time *t;
    /* trigger 2022-06-06 18:43:33 at UTC+9 = 09:43:33Z */
    mt_time trig = (DAY_2022_06_06 + 9 * 3600 + 43 * 60 + 33) * MT_US_PER_S;
    T_FIXTURE(c, "csv/lr8450_comma.csv", 540);
    m = mt_csv_meta_of(c);
    T_EQ_STR(m->file_name, "LR8450_01.CSV");
    T_EQ_STR(m->version, "V 1.27");
    T_EQ_STR(m->title, "Boiler test");
    T_EQ_INT(m->has_trigger, 1);
    T_EQ_INT(m->trigger, trig);
    T_EQ_INT(m->style, MT_CSV_STYLE_COLUMN);
    T_EQ_INT(m->delimiter, ',');
    T_EQ_INT(m->decimal_mark, '.');
    T_EQ_INT(m->time_format, MT_CSV_TIME_SECONDS);
    T_EQ_INT(m->has_bom, 0);
    T_EQ_INT(mt_csv_channel_count(c), 5);
    T_EQ_INT(mt_csv_row_count(c), 3);
    ch = mt_csv_channel_at(c, 1);
    T_EQ_STR(ch->name, "U1-2");
    T_EQ_STR(ch->title, "U1-2[kPa]");
    T_EQ_STR(ch->unit, "kPa");
    T_EQ_STR(ch->mode, "Voltage");
    T_EQ_STR(ch->range, "1V");
    T_EQ_STR(ch->unit_id, "U1");
    T_EQ_STR(ch->comment, "pressure");
    T_EQ_INT(ch->scaling, 1);
    T_NEAR(ch->ratio, 2.5, 0);
    T_NEAR(ch->offset, -0.125, 0);
    T_EQ_INT(ch->kind, MT_CSV_ANALOG);
    T_EQ_STR(mt_csv_channel_at(c, 0)->unit, "C");
    T_EQ_STR(mt_csv_channel_at(c, 0)->range, "100 C");
    T_EQ_INT(mt_csv_channel_at(c, 2)->kind, MT_CSV_INTEGER);
    T_EQ_INT(mt_csv_channel_at(c, 3)->kind, MT_CSV_INTEGER);
    T_EQ_INT(mt_csv_channel_at(c, 4)->kind, MT_CSV_EVENT);
    T_EQ_STR(mt_csv_channel_at(c, 4)->name, "Event");
    T_TRUE(mt_csv_channel_at(c, 5) == NULL);
    T_TRUE(mt_csv_values(c, 5) == NULL);
    t = mt_csv_times(c);
    T_EQ_INT(t[0], trig);
    T_EQ_INT(t[1], trig + 100000);
    T_EQ_INT(t[2], trig + 200000);
    T_SAME_DOUBLE(mt_csv_values(c, 0)[2], 23.17);
    T_SAME_DOUBLE(mt_csv_values(c, 1)[1], 102.75);
    T_SAME_DOUBLE(mt_csv_values(c, 2)[2], 65535.0);
    T_SAME_DOUBLE(mt_csv_values(c, 3)[1], 1.0);
    T_SAME_DOUBLE(mt_csv_values(c, 4)[2], 1.0);
    mt_csv_free(c);
}

static void csv_reads_mr8875_apostrophe_trigger(void)
{
    /* '19-12-31 23:59:59 at UTC: 2020-01-01T00:00:00Z (1577836800) - 1 s */
    mt_time trig = INT64_C(1577836799) * MT_US_PER_S;
    T_FIXTURE(c, "csv/mr8875_apos.csv", 0);
    T_EQ_INT(mt_csv_meta_of(c)->trigger, trig);
    T_EQ_STR(mt_csv_meta_of(c)->title, "");
    T_EQ_INT(mt_csv_channel_count(c), 3);
    T_EQ_STR(mt_csv_channel_at(c, 0)->name, "A 1- 1");
    T_EQ_STR(mt_csv_channel_at(c, 1)->unit, "mV");
    T_EQ_INT(mt_csv_channel_at(c, 1)->scaling, 0);
    T_EQ_INT(mt_csv_times(c)[1], trig + 500000);
    T_SAME_DOUBLE(mt_csv_values(c, 1)[1], -36.0);
    mt_csv_free(c);
}

static void csv_reads_lr8431_row_style(void)
{
    /* 2021-03-04: 2021-01-01 is 1609459200, + 62 days = 1614816000; + 05:06:07 */
    mt_time trig = INT64_C(1614834367) * MT_US_PER_S;
    const mt_csv_channel *ch;
    T_FIXTURE(c, "csv/lr8431_row.csv", 0);
    T_EQ_INT(mt_csv_meta_of(c)->style, MT_CSV_STYLE_ROW);
    T_EQ_STR(mt_csv_meta_of(c)->title, "Oven");
    T_EQ_INT(mt_csv_channel_count(c), 2);
    ch = mt_csv_channel_at(c, 0);
    T_EQ_STR(ch->name, "CH-1");
    T_EQ_STR(ch->title, "CH1[mV]");
    T_EQ_STR(ch->unit, "mV");
    T_EQ_STR(ch->mode, "Voltage");
    T_EQ_STR(ch->range, "100mV");
    T_EQ_STR(ch->comment, "shunt");
    T_EQ_INT(ch->scaling, 1);
    T_NEAR(ch->ratio, 2.0, 0);
    T_NEAR(ch->offset, 0.1, 0);
    ch = mt_csv_channel_at(c, 1);
    T_EQ_STR(ch->mode, "Tc");
    T_EQ_INT(ch->scaling, 0);
    T_EQ_INT(mt_csv_times(c)[1], trig + MT_US_PER_S);
    T_SAME_DOUBLE(mt_csv_values(c, 1)[1], 20.5);
    mt_csv_free(c);
}

static void csv_reads_semicolon_with_decimal_comma(void)
{
    /* 2023-01-02 03:04:05 at UTC+1 = 02:04:05Z; 2023-01-02 is 1672617600 */
    mt_time trig = (INT64_C(1672617600) + 2 * 3600 + 4 * 60 + 5) * MT_US_PER_S;
    T_FIXTURE(c, "csv/semicolon_comma.csv", 60);
    T_EQ_INT(mt_csv_meta_of(c)->delimiter, ';');
    T_EQ_INT(mt_csv_meta_of(c)->decimal_mark, ',');
    T_EQ_INT(mt_csv_meta_of(c)->trigger, trig);
    T_NEAR(mt_csv_channel_at(c, 0)->ratio, 1.5, 0);
    T_EQ_INT(mt_csv_row_count(c), 2);
    T_EQ_INT(mt_csv_times(c)[1], trig + 500000);
    T_SAME_DOUBLE(mt_csv_values(c, 0)[0], 1.25);
    T_SAME_DOUBLE(mt_csv_values(c, 1)[1], -0.275);
    mt_csv_free(c);
}

static void csv_reads_tab_txt(void)
{
    mt_time trig = (DAY_2022_06_06 + 18 * 3600 + 43 * 60 + 33) * MT_US_PER_S;
    T_FIXTURE(c, "csv/tab_export.txt", 0);
    T_EQ_INT(mt_csv_meta_of(c)->delimiter, '\t');
    T_EQ_INT(mt_csv_meta_of(c)->decimal_mark, '.');
    T_EQ_STR(mt_csv_meta_of(c)->file_name, "TAB.TXT");
    T_EQ_INT(mt_csv_row_count(c), 2);
    T_EQ_INT(mt_csv_times(c)[1], trig + 500000);
    T_SAME_DOUBLE(mt_csv_values(c, 0)[1], 1.5);
    mt_csv_free(c);
}

static void csv_reads_bare_data_with_positional_names(void)
{
    const mt_csv_meta *m;
    T_FIXTURE(c, "csv/bare_data.csv", 540);
    m = mt_csv_meta_of(c);
    T_EQ_INT(m->style, MT_CSV_STYLE_BARE);
    T_EQ_INT(m->has_trigger, 0);
    T_EQ_INT(mt_csv_channel_count(c), 2);
    T_EQ_STR(mt_csv_channel_at(c, 0)->name, "CH1");
    T_EQ_STR(mt_csv_channel_at(c, 1)->name, "CH2");
    T_EQ_STR(mt_csv_channel_at(c, 1)->title, "");
    T_EQ_INT(mt_csv_channel_at(c, 1)->scaling, -1);
    T_EQ_INT(mt_csv_row_count(c), 3);
    /* relative seconds with no trigger: counted from 0, UTC offset unused */
    T_EQ_INT(mt_csv_times(c)[0], 0);
    T_EQ_INT(mt_csv_times(c)[2], MT_US_PER_S);
    T_SAME_DOUBLE(mt_csv_values(c, 1)[2], 30.0);
    mt_csv_free(c);
}

static void csv_reads_title_row_without_header(void)
{
    T_FIXTURE(c, "csv/title_only.csv", 0);
    T_EQ_INT(mt_csv_meta_of(c)->style, MT_CSV_STYLE_BARE);
    T_EQ_INT(mt_csv_channel_count(c), 2);
    T_EQ_STR(mt_csv_channel_at(c, 1)->name, "Flow");
    T_EQ_STR(mt_csv_channel_at(c, 1)->unit, "l/min");
    T_EQ_INT(mt_csv_times(c)[1], 10 * MT_US_PER_S);
    T_SAME_DOUBLE(mt_csv_values(c, 1)[1], 3.5);
    mt_csv_free(c);
}

static void csv_reads_absolute_time_column(void)
{
    mt_time t0 = (DAY_2022_06_06 + 18 * 3600 + 43 * 60 + 33) * MT_US_PER_S + 250000;
    T_FIXTURE(c, "csv/abs_time.csv", 0);
    T_EQ_INT(mt_csv_meta_of(c)->time_format, MT_CSV_TIME_ABSOLUTE);
    T_EQ_INT(mt_csv_meta_of(c)->trigger, t0);
    T_EQ_INT(mt_csv_times(c)[0], t0);
    T_EQ_INT(mt_csv_times(c)[1], t0 + 1500000);
    T_EQ_INT(mt_csv_times(c)[2], (DAY_2022_06_06 + 86400) * MT_US_PER_S);
    mt_csv_free(c);
    /* the UTC offset applies to absolute times too */
    {
        T_FIXTURE(d, "csv/abs_time.csv", -120);
        T_EQ_INT(mt_csv_times(d)[0], t0 + 2 * 3600 * MT_US_PER_S);
        mt_csv_free(d);
    }
}

static void csv_reads_relative_clock_time_column(void)
{
    mt_time trig = (DAY_2022_06_06 + 18 * 3600 + 43 * 60 + 33) * MT_US_PER_S;
    T_FIXTURE(c, "csv/clock_time.csv", 0);
    T_EQ_INT(mt_csv_meta_of(c)->time_format, MT_CSV_TIME_CLOCK);
    T_EQ_INT(mt_csv_times(c)[1], trig + 1500000);
    T_EQ_INT(mt_csv_times(c)[2], trig + 25 * 3600 * MT_US_PER_S);
    mt_csv_free(c);
}

static void csv_maps_special_words_and_sentinels(void)
{
    const double *a, *b, *cc, *d;
    T_FIXTURE(c, "csv/specials.csv", 0);
    a = mt_csv_values(c, 0);
    b = mt_csv_values(c, 1);
    cc = mt_csv_values(c, 2);
    d = mt_csv_values(c, 3);
    T_EQ_INT(mt_sv_kind(a[0]), MT_SV_OVER_POS);
    T_EQ_INT(mt_sv_kind(b[0]), MT_SV_OVER_NEG);
    T_EQ_INT(mt_sv_kind(cc[0]), MT_SV_BREAK);
    T_EQ_INT(mt_sv_kind(d[0]), MT_SV_MISSING);
    T_EQ_INT(mt_sv_kind(a[1]), MT_SV_OVER_POS);
    T_EQ_INT(mt_sv_kind(b[1]), MT_SV_BREAK);
    T_EQ_INT(mt_sv_kind(cc[1]), MT_SV_MISSING);
    T_EQ_INT(mt_sv_kind(d[1]), MT_SV_MISSING);
    T_EQ_INT(mt_sv_kind(a[2]), MT_SV_OVER_POS);
    T_EQ_INT(mt_sv_kind(b[2]), MT_SV_OVER_NEG);
    T_EQ_INT(mt_sv_kind(cc[2]), MT_SV_MISSING);
    T_EQ_INT(mt_sv_kind(d[2]), MT_SV_ERROR);
    T_SAME_DOUBLE(a[3], 1.5);
    T_SAME_DOUBLE(b[3], 2.5);
    T_SAME_DOUBLE(cc[3], -0.0);
    T_SAME_DOUBLE(d[3], 1e-320);
    T_EQ_INT(mt_sv_kind(a[4]), MT_SV_OVER_POS);
    T_EQ_INT(mt_sv_kind(b[4]), MT_SV_OVER_NEG);
    T_EQ_INT(mt_sv_kind(cc[4]), MT_SV_BREAK);
    T_EQ_INT(mt_sv_kind(d[4]), MT_SV_ERROR);
    mt_csv_free(c);
}

static void csv_reads_odd_case_keys(void)
{
    mt_time trig = (DAY_2022_06_06 + 18 * 3600 + 43 * 60 + 33) * MT_US_PER_S + 500000;
    T_FIXTURE(c, "csv/odd_keys.csv", 0);
    T_EQ_STR(mt_csv_meta_of(c)->file_name, "ODD.CSV");
    T_EQ_STR(mt_csv_meta_of(c)->title, "x \"quoted\" y");
    T_EQ_INT(mt_csv_meta_of(c)->trigger, trig);
    T_EQ_STR(mt_csv_channel_at(c, 0)->mode, "Voltage");
    T_EQ_INT(mt_csv_channel_at(c, 0)->scaling, 1);
    T_EQ_INT(mt_csv_times(c)[0], trig);
    mt_csv_free(c);
}

static void csv_reads_crlf_and_bom(void)
{
    T_FIXTURE(c, "csv/crlf_bom.csv", 0);
    T_EQ_INT(mt_csv_meta_of(c)->has_bom, 1);
    T_EQ_STR(mt_csv_meta_of(c)->file_name, "CRLF.CSV");
    T_EQ_INT(mt_csv_row_count(c), 2);
    T_EQ_INT(mt_csv_times(c)[1], MT_US_PER_S);
    T_SAME_DOUBLE(mt_csv_values(c, 0)[1], 2.0);
    mt_csv_free(c);
    /* errors count lines across CRLF, lone CR and blank lines */
    T_CSV_ERR("\xEF\xBB\xBFTime,a\r\n0,1\r\r\n1,x\r\n", NULL, MT_ESYNTAX, 4, 3);
}

static void csv_reads_file_without_rows(void)
{
    mt_csv *c = NULL;
    mt_error err;
    T_OK_E(read_str("\"Time\",\"a[V]\",\n", NULL, &c, &err), &err);
    T_EQ_INT(mt_csv_row_count(c), 0);
    T_TRUE(mt_csv_times(c) == NULL);
    T_TRUE(mt_csv_values(c, 0) == NULL);
    mt_csv_free(c);
    mt_csv_free(NULL);
}

/* Every allocation failure gives MT_ENOMEM and leaks nothing (ASan checks). */
static void csv_oom_loop_frees_everything(void)
{
    static const char *names[] = {"csv/lr8450_comma.csv", "csv/lr8431_row.csv",
                                  "csv/odd_keys.csv"};
    size_t f;
    for (f = 0; f < sizeof names / sizeof names[0]; f++) {
        size_t len;
        unsigned char *buf = t_fixture(names[f], &len);
        long n;
        int done = 0;
        T_TRUE(buf != NULL);
        for (n = 1; n < 200 && !done; n++) {
            mt_csv *c = NULL;
            mt_error err;
            mt_status st;
            mt__fault_fail_nth(n);
            st = mt_csv_read((const char *)buf, len, NULL, &c, &err);
            if (!mt__fault_fired()) {
                T_EQ_INT(st, MT_OK);
                done = 1;
            } else {
                T_EQ_INT(st, MT_ENOMEM);
                T_TRUE(c == NULL);
            }
            mt_csv_free(c);
        }
        mt__fault_fail_nth(0);
        free(buf);
        T_TRUE(done);
    }
}

/* Many rows: buffers grow geometrically and results stay exact. */
static void csv_reads_many_rows(void)
{
    size_t n_rows = 20000, i, at = 0;
    char *s = malloc(n_rows * 40 + 64);
    mt_csv *c = NULL;
    mt_error err;
    T_TRUE(s != NULL);
    at += (size_t)sprintf(s, "\"Time\",\"a[V]\",\"b[V]\",\"Event\"\n");
    for (i = 0; i < n_rows; i++) {
        at += (size_t)sprintf(s + at, "%zu.%03zuE+00,+%zu.5E-01,-1.0,%zu,\n", i / 1000, i % 1000,
                              i % 10, i % 2);
    }
    T_OK_E(mt_csv_read(s, at, NULL, &c, &err), &err);
    T_EQ_INT(mt_csv_row_count(c), n_rows);
    T_EQ_INT(mt_csv_times(c)[12345], 12345000);
    T_SAME_DOUBLE(mt_csv_values(c, 0)[12345], 0.55);
    T_SAME_DOUBLE(mt_csv_values(c, 2)[12345], 1.0);
    mt_csv_free(c);
    free(s);
}

void suite_csv(void)
{
    T_RUN(csv_rejects_invalid_arguments);
    T_RUN(csv_rejects_binary_mem_file);
    T_RUN(csv_rejects_empty_file);
    T_RUN(csv_reports_unterminated_quote);
    T_RUN(csv_reports_junk_after_closing_quote);
    T_RUN(csv_reports_rows_with_too_many_cells);
    T_RUN(csv_reports_rows_with_too_few_cells);
    T_RUN(csv_reports_unparsable_number);
    T_RUN(csv_reports_time_going_backwards);
    T_RUN(csv_reports_header_without_title_row);
    T_RUN(csv_reports_overlong_cell_and_line);
    T_RUN(csv_reports_too_many_channels);
    T_RUN(csv_reports_non_integer_in_logic_column);
    T_RUN(csv_reports_mixed_decimal_marks);
    T_RUN(csv_reports_bad_header_cells);
    T_RUN(csv_reports_time_format_changes);
    T_RUN(csv_numbers_round_like_strtod);
    T_RUN(csv_numbers_reject_malformed_tokens);
    T_RUN(csv_seconds_convert_exactly_to_microseconds);
    T_RUN(csv_reads_lr8450_column_style);
    T_RUN(csv_reads_mr8875_apostrophe_trigger);
    T_RUN(csv_reads_lr8431_row_style);
    T_RUN(csv_reads_semicolon_with_decimal_comma);
    T_RUN(csv_reads_tab_txt);
    T_RUN(csv_reads_bare_data_with_positional_names);
    T_RUN(csv_reads_title_row_without_header);
    T_RUN(csv_reads_absolute_time_column);
    T_RUN(csv_reads_relative_clock_time_column);
    T_RUN(csv_maps_special_words_and_sentinels);
    T_RUN(csv_reads_odd_case_keys);
    T_RUN(csv_reads_crlf_and_bom);
    T_RUN(csv_reads_file_without_rows);
    T_RUN(csv_oom_loop_frees_everything);
    T_RUN(csv_reads_many_rows);
}
