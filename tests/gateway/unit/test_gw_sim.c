/* Simulated instruments: the catalogue per app kind, and signals that are
 * plausible, repeatable and carry special values at about the set rate. */
#include <stdlib.h>

#include "mt/types.h"
#include "sim.h"
#include "t.h"

static void sim_default_models_follow_the_app_kind(void)
{
    T_EQ_STR(gw_default_model("one", 0), "LR8450");
    T_EQ_STR(gw_default_model("one", 1), "PW3390");
    T_EQ_STR(gw_default_model("one", 2), "BT3554-50");
    T_EQ_STR(gw_default_model("one", 3), "LR8450");
    T_EQ_STR(gw_default_model("cross", 0), "CM4372");
    T_EQ_STR(gw_default_model("lr8450-direct", 5), "LR8450");
    T_TRUE(gw_default_model("two", 0) == NULL);
    T_TRUE(gw_model_fits("CM4372", "cross"));
    T_TRUE(!gw_model_fits("CM4372", "one"));
    T_TRUE(!gw_model_fits("PW3390", "lr8450-direct"));
    T_TRUE(!gw_model_known("XYZ"));
}

static void sim_logger_has_the_asked_channels_with_lr8450_keys(void)
{
    gw_instrument ins = {0};
    char err[200];
    T_EQ_INT(gw_instrument_make("LR8450", 0, "SIMAB", 17, &ins, err, sizeof err), 0);
    T_EQ_INT(ins.n_ch, 17);
    T_EQ_STR(ins.serial, "SIMAB-1");
    T_EQ_STR(ins.ch[0].key, "CH1_1");
    T_EQ_STR(ins.ch[0].unit, "°C");
    T_EQ_STR(ins.ch[1].unit, "V");
    T_EQ_STR(ins.ch[15].key, "CH2_1");
    T_TRUE(ins.firmware[0] == 'V');
    gw_instrument_clear(&ins);
    T_EQ_INT(gw_instrument_make("LR8450", 0, "SIMAB", 0, &ins, err, sizeof err), -1);
    T_EQ_INT(gw_instrument_make("NOPE", 0, "SIMAB", 4, &ins, err, sizeof err), -1);
    T_TRUE(strstr(err, "NOPE") != NULL);
}

static void sim_values_repeat_and_stay_in_range(void)
{
    gw_sim_opts o = {42, 0};
    const char *models[] = {"LR8450", "PW3390", "BT3554-50", "CM4372"};
    for (size_t m = 0; m < 4; m++) {
        gw_instrument ins = {0};
        char err[200];
        T_EQ_INT(gw_instrument_make(models[m], m, "SIMT", 8, &ins, err, sizeof err), 0);
        for (size_t c = 0; c < ins.n_ch; c++) {
            for (int64_t t = 1764000000; t < 1764000000 + 2 * 86400; t += 617) {
                double v = gw_sim_value(&o, &ins, c, t * 1000000);
                T_SAME_DOUBLE(v, gw_sim_value(&o, &ins, c, t * 1000000));
                if (mt_sv_kind(v) != MT_SV_NONE) {
                    continue; /* the clamp meter may be over its range */
                }
                switch (ins.ch[c].q) {
                case GW_Q_TEMP:
                    T_TRUE(v > -10 && v < 50);
                    break;
                case GW_Q_VAC:
                    T_TRUE(v > 220 && v < 240);
                    break;
                case GW_Q_PF:
                    T_TRUE(v > 0.7 && v <= 1.0);
                    break;
                case GW_Q_FREQ:
                    T_TRUE(v > 49.9 && v < 50.1);
                    break;
                case GW_Q_BATT_V:
                    T_TRUE(v > 11.5 && v < 14);
                    break;
                default:
                    T_TRUE(v >= 0);
                }
            }
        }
        gw_instrument_clear(&ins);
    }
}

static void sim_temperature_follows_the_day(void)
{
    gw_sim_opts o = {7, 0};
    gw_instrument ins = {0};
    char err[200];
    double at15 = 0, at03 = 0;
    T_EQ_INT(gw_instrument_make("LR8450", 0, "SIMD", 2, &ins, err, sizeof err), 0);
    /* 15:00 and 03:00 China Standard Time over ten days */
    for (int d = 0; d < 10; d++) {
        int64_t day = 1764000000 - 1764000000 % 86400 + d * 86400LL;
        at15 += gw_sim_value(&o, &ins, 0, (day + 7 * 3600) * 1000000);
        at03 += gw_sim_value(&o, &ins, 0, (day + 19 * 3600) * 1000000);
    }
    T_TRUE(at15 / 10 > at03 / 10 + 3);
    gw_instrument_clear(&ins);
}

static void sim_special_values_come_at_about_the_rate(void)
{
    gw_sim_opts o = {9, 0.01}, none = {9, 0};
    gw_instrument ins = {0};
    char err[200];
    int n = 0, special = 0, brk = 0, special_none = 0;
    T_EQ_INT(gw_instrument_make("LR8450", 0, "SIMS", 10, &ins, err, sizeof err), 0);
    for (size_t c = 0; c < ins.n_ch; c++) {
        for (int64_t t = 1764000000; t < 1764000000 + 10 * 86400; t += 60) {
            mt_sv k = mt_sv_kind(gw_sim_value(&o, &ins, c, t * 1000000));
            n++;
            special += k != MT_SV_NONE;
            brk += k == MT_SV_BREAK;
            special_none += mt_sv_kind(gw_sim_value(&none, &ins, c, t * 1000000)) != MT_SV_NONE;
        }
    }
    T_TRUE(special > n / 1000 && special < n / 10);
    T_TRUE(brk > 0);
    T_EQ_INT(special_none, 0);
    gw_instrument_clear(&ins);
}

static void sim_quantity_is_guessed_from_unit_and_name(void)
{
    T_EQ_INT(gw_quantity_of("°C", "Temperature"), GW_Q_TEMP);
    T_EQ_INT(gw_quantity_of("%RH", "Humidity"), GW_Q_HUMID);
    T_EQ_INT(gw_quantity_of("V", "Voltage"), GW_Q_VDC);
    T_EQ_INT(gw_quantity_of("V", "Battery voltage"), GW_Q_BATT_V);
    T_EQ_INT(gw_quantity_of("A", "Current"), GW_Q_CURRENT);
    T_EQ_INT(gw_quantity_of("", "PF1"), GW_Q_PF);
    T_EQ_INT(gw_quantity_of("lux", "Light"), GW_Q_GENERIC);
    T_EQ_INT(gw_quantity_from_name("power_factor"), GW_Q_PF);
    T_EQ_INT(gw_quantity_from_name("nope"), -1);
}

void suite_gw_sim(void)
{
    T_RUN(sim_default_models_follow_the_app_kind);
    T_RUN(sim_logger_has_the_asked_channels_with_lr8450_keys);
    T_RUN(sim_values_repeat_and_stay_in_range);
    T_RUN(sim_temperature_follows_the_day);
    T_RUN(sim_special_values_come_at_about_the_rate);
    T_RUN(sim_quantity_is_guessed_from_unit_and_name);
}
