#include "../t.h"
#include "mt/types.h"

static void status_names_and_messages_come_from_one_table(void)
{
    T_EQ_STR(mt_errname(MT_OK), "MT_OK");
    T_EQ_STR(mt_errname(MT_ESYNTAX), "MT_ESYNTAX");
    T_EQ_STR(mt_errname((mt_status)-999), "MT_UNKNOWN");
    T_EQ_STR(mt_strerror(MT_ETRUNC), "input is truncated");
}

static void status_fail_fills_error_and_returns_code(void)
{
    mt_error err;
    T_EQ_INT(mt_fail(&err, MT_ECORRUPT, 17, "bad byte %d", 3), MT_ECORRUPT);
    T_EQ_INT(err.code, MT_ECORRUPT);
    T_EQ_INT(err.pos, 17);
    T_EQ_STR(err.msg, "bad byte 3");
    T_EQ_INT(mt_fail_at(&err, MT_ESYNTAX, 5, 2, 3, "x"), MT_ESYNTAX);
    T_EQ_INT(err.line, 2);
    T_EQ_INT(err.col, 3);
    T_EQ_INT(mt_fail(NULL, MT_EINVAL, 0, "ignored"), MT_EINVAL);
}

static void special_values_round_trip_and_classify(void)
{
    int k;
    for (k = 1; k < MT_SV_COUNT; k++) {
        T_EQ_INT(mt_sv_kind(mt_sv_value((mt_sv)k)), k);
        T_TRUE(!mt_sv_is_number(mt_sv_value((mt_sv)k)));
    }
    T_EQ_INT(mt_sv_kind(1.5), MT_SV_NONE);
    T_EQ_INT(mt_sv_kind(-0.0), MT_SV_NONE);
    T_EQ_INT(mt_sv_kind(HUGE_VAL), MT_SV_OVER_POS);
    T_EQ_INT(mt_sv_kind(-HUGE_VAL), MT_SV_OVER_NEG);
    T_EQ_INT(mt_sv_kind(nan("")), MT_SV_ERROR);
    T_EQ_STR(mt_sv_name(MT_SV_BREAK), "break");
}

void suite_status(void)
{
    T_RUN(status_names_and_messages_come_from_one_table);
    T_RUN(status_fail_fills_error_and_returns_code);
    T_RUN(special_values_round_trip_and_classify);
}
