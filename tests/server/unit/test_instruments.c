/* The supported-instrument table (server/base/instruments.c): lookups per
 * app kind, the "-" cells, the drive_data column, verdicts in words, and
 * firmware versions compared by number. */
#include "instruments.h"
#include "t.h"

static void instruments_rows_follow_the_app_kind(void)
{
    const instr_row *one = instr_find("LR8450", INSTR_APP_ONE);
    const instr_row *direct = instr_find("LR8450", INSTR_APP_DIRECT);
    T_TRUE(one != NULL && direct != NULL && one != direct);
    T_EQ_STR(instr_min(one, INSTR_MONITORING), "V1.50");
    T_EQ_STR(instr_min(direct, INSTR_CONSOLE), "V2.20");
    T_TRUE(instr_find("LR8450", INSTR_APP_CROSS) == NULL);
    T_TRUE(instr_find("CM4372", INSTR_APP_ONE) == NULL);
    T_EQ_INT(instr_model_apps("BT3554-50"), INSTR_APP_ONE | INSTR_APP_CROSS);
    T_EQ_INT(instr_model_apps("XYZ"), 0);
    T_EQ_STR(instr_min(instr_find("PW3390", INSTR_APP_ONE), INSTR_DRIVE_DATA), "V2.01");
    T_TRUE(instr_min(instr_find("PW3335", INSTR_APP_ONE), INSTR_DRIVE_FILES) == NULL);
    T_TRUE(instr_find("PQ3198", INSTR_APP_ONE)->note[INSTR_DRIVE_FILES] != NULL);
}

static void instruments_verdicts_name_model_function_and_version(void)
{
    char why[240];
    T_EQ_INT(instr_check("LR8450", INSTR_APP_ONE, "V1.50", INSTR_ALARMS, why, sizeof why), INSTR_OK);
    T_EQ_INT(instr_check("LR8450", INSTR_APP_ONE, "", INSTR_ALARMS, why, sizeof why), INSTR_OK);
    T_EQ_INT(instr_check("LR8450", INSTR_APP_ONE, "V1.49", INSTR_ALARMS, why, sizeof why),
             INSTR_FIRMWARE_TOO_OLD);
    T_EQ_STR(why, "LR8450 with firmware V1.49: alarms need firmware V1.50 or later "
                  "(supported-instrument table)");
    T_EQ_INT(instr_check("BT5525", INSTR_APP_ONE, "V9.99", INSTR_CONSOLE, why, sizeof why),
             INSTR_NOT_SUPPORTED);
    T_TRUE(strstr(why, "BT5525 does not support the console") != NULL);
    T_EQ_INT(instr_check("CM4372", INSTR_APP_ONE, "V1.01", INSTR_MONITORING, why, sizeof why),
             INSTR_NOT_IN_TABLE);
    T_TRUE(instr_monitoring_refusal("LR8450", INSTR_APP_ONE, "V2.00") == NULL);
    {
        const char *a = instr_monitoring_refusal("LR8450", INSTR_APP_DIRECT, "V2.10");
        const char *b = instr_monitoring_refusal("LR8450", INSTR_APP_DIRECT, "V2.10");
        T_TRUE(a != NULL && a == b); /* interned: the same sentence, kept */
        T_TRUE(strstr(a, "needs firmware V2.20") != NULL);
    }
}

static void instruments_versions_compare_by_number(void)
{
    T_TRUE(instr_firmware_cmp("V1.50", "V2.20") < 0);
    T_TRUE(instr_firmware_cmp("V2.2", "V2.10") < 0);
    T_TRUE(instr_firmware_cmp("2.20", "V2.20") == 0);
    T_TRUE(instr_firmware_cmp("V1.0", "V1") == 0);
    T_TRUE(instr_firmware_cmp("Vx", "V1") < 0); /* ends, never loops */
    T_TRUE(instr_firmware_valid("V2.30"));
    T_TRUE(instr_firmware_valid(""));
    T_TRUE(!instr_firmware_valid("V2.x"));
    T_TRUE(!instr_firmware_valid("V1.2.3.4.5"));
    T_EQ_INT(instr_app_bit("lr8450-direct"), INSTR_APP_DIRECT);
    T_EQ_INT(instr_app_bit("two"), 0);
}

void suite_instruments(void)
{
    T_RUN(instruments_rows_follow_the_app_kind);
    T_RUN(instruments_verdicts_name_model_function_and_version);
    T_RUN(instruments_versions_compare_by_number);
}
