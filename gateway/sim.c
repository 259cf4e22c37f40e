/* Simulated instruments (see sim.h). */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt/types.h"

#define K_ONE 1u
#define K_CROSS 2u
#define K_DIRECT 4u

typedef struct {
    const char *key;
    const char *name;
    const char *unit;
    gw_quantity q;
} ch_def;

typedef struct {
    const char *model;
    unsigned kinds;
    const char *firmware; /* the version a new simulated instrument runs */
    const char *name;     /* what it is, the default device name */
    const ch_def *ch;     /* fixed channels, or NULL for a logger */
    size_t n_ch;
} model_def;

static const ch_def power_ch[] = {
    {"U1", "Voltage U1", "V", GW_Q_VAC},     {"I1", "Current I1", "A", GW_Q_CURRENT},
    {"P1", "Active power P1", "W", GW_Q_POWER}, {"PF1", "Power factor PF1", "", GW_Q_PF},
    {"FREQ", "Frequency", "Hz", GW_Q_FREQ},
};
static const ch_def battery_ch[] = {
    {"R", "Internal resistance", "mΩ", GW_Q_RES},
    {"V", "Battery voltage", "V", GW_Q_BATT_V},
};
static const ch_def clamp_ch[] = {
    {"A1", "Current", "A", GW_Q_CURRENT},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The models the gateway plays: a logger with temperature and voltage
 * channels, a power analyser, a battery tester and a clamp meter (the app
 * kinds are those of the specification's supported-instrument table). */
static const model_def catalogue[] = {
    {"LR8450", K_ONE | K_DIRECT, "V2.30", "Data logger", NULL, 0},
    {"LR8450-01", K_ONE | K_DIRECT, "V2.30", "Wireless data logger", NULL, 0},
    {"PW3390", K_ONE, "V2.10", "Power analyser", power_ch, N(power_ch)},
    {"BT3554-50", K_ONE | K_CROSS, "V2.05", "Battery tester", battery_ch, N(battery_ch)},
    {"CM4372", K_CROSS, "V1.05", "Clamp meter", clamp_ch, N(clamp_ch)},
};

static const char *const one_cycle[] = {"LR8450", "PW3390", "BT3554-50"};
static const char *const cross_cycle[] = {"CM4372", "BT3554-50"};

static const char *const quantity_names[GW_Q_COUNT] = {
    "temperature", "humidity", "dc_voltage", "ac_voltage", "current",  "power",
    "power_factor", "frequency", "resistance", "battery_voltage", "generic"};

static unsigned kind_bit(const char *kind)
{
    if (kind == NULL) {
        return 0;
    }
    if (strcmp(kind, "one") == 0) {
        return K_ONE;
    }
    if (strcmp(kind, "cross") == 0) {
        return K_CROSS;
    }
    if (strcmp(kind, "lr8450-direct") == 0) {
        return K_DIRECT;
    }
    return 0;
}

static const model_def *model_find(const char *model)
{
    for (size_t i = 0; model != NULL && i < N(catalogue); i++) {
        if (strcmp(catalogue[i].model, model) == 0) {
            return &catalogue[i];
        }
    }
    return NULL;
}

bool gw_kind_valid(const char *kind)
{
    return kind_bit(kind) != 0;
}

bool gw_model_known(const char *model)
{
    return model_find(model) != NULL;
}

bool gw_model_fits(const char *model, const char *kind)
{
    const model_def *m = model_find(model);
    return m != NULL && (m->kinds & kind_bit(kind)) != 0;
}

const char *gw_default_model(const char *kind, size_t i)
{
    switch (kind_bit(kind)) {
    case K_ONE:
        return one_cycle[i % N(one_cycle)];
    case K_CROSS:
        return cross_cycle[i % N(cross_cycle)];
    case K_DIRECT:
        return "LR8450";
    default:
        return NULL;
    }
}

const char *gw_model_firmware(const char *model)
{
    const model_def *m = model_find(model);
    return m != NULL ? m->firmware : "V1.00";
}

const char *gw_models_list(void)
{
    return "LR8450, LR8450-01 (loggers), PW3390 (power analyser), BT3554-50 (battery tester), "
           "CM4372 (clamp meter)";
}

const char *gw_quantity_name(gw_quantity q)
{
    return (unsigned)q < GW_Q_COUNT ? quantity_names[q] : "generic";
}

int gw_quantity_from_name(const char *name)
{
    for (int i = 0; name != NULL && i < GW_Q_COUNT; i++) {
        if (strcmp(quantity_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

void gw_instrument_clear(gw_instrument *ins)
{
    if (ins != NULL) {
        free(ins->ch);
        memset(ins, 0, sizeof *ins);
    }
}

int gw_instrument_make(const char *model, size_t i, const char *tag, size_t n_logger_channels,
                       gw_instrument *out, char *err, size_t err_cap)
{
    const model_def *m = model_find(model);
    size_t n;
    if (m == NULL) {
        snprintf(err, err_cap, "'%.40s' is not a model the gateway can play (%s)", model,
                 gw_models_list());
        return -1;
    }
    if (m->ch == NULL && (n_logger_channels < 1 || n_logger_channels > GW_CHANNELS_MAX)) {
        snprintf(err, err_cap, "a logger has 1 to %d channels", GW_CHANNELS_MAX);
        return -1;
    }
    n = m->ch != NULL ? m->n_ch : n_logger_channels;
    out->ch = calloc(n, sizeof *out->ch);
    if (out->ch == NULL) {
        snprintf(err, err_cap, "out of memory");
        return -1;
    }
    out->n_ch = n;
    snprintf(out->model, sizeof out->model, "%s", m->model);
    snprintf(out->serial, sizeof out->serial, "%.40s-%zu", tag, i + 1);
    snprintf(out->firmware, sizeof out->firmware, "%s", m->firmware);
    snprintf(out->name, sizeof out->name, "%s %zu", m->name, i + 1);
    for (size_t c = 0; c < n; c++) {
        gw_channel *ch = &out->ch[c];
        if (m->ch != NULL) {
            snprintf(ch->key, sizeof ch->key, "%s", m->ch[c].key);
            snprintf(ch->name, sizeof ch->name, "%s", m->ch[c].name);
            snprintf(ch->unit, sizeof ch->unit, "%s", m->ch[c].unit);
            ch->q = m->ch[c].q;
        } else {
            /* LR8450 keys: unit u (15 channels each), channel c of it.
             * Thermocouples and voltage inputs alternate. */
            bool temp = c % 2 == 0;
            snprintf(ch->key, sizeof ch->key, "CH%zu_%zu", c / 15 + 1, c % 15 + 1);
            snprintf(ch->name, sizeof ch->name, "%s %zu", temp ? "Temperature" : "Voltage",
                     c / 2 + 1);
            snprintf(ch->unit, sizeof ch->unit, "%s", temp ? "°C" : "V");
            ch->q = temp ? GW_Q_TEMP : GW_Q_VDC;
        }
    }
    return 0;
}

gw_quantity gw_quantity_of(const char *unit, const char *name)
{
    static const struct {
        const char *unit;
        gw_quantity q;
    } by_unit[] = {{"°C", GW_Q_TEMP}, {"degC", GW_Q_TEMP}, {"%RH", GW_Q_HUMID},
                   {"W", GW_Q_POWER},  {"kW", GW_Q_POWER},  {"Hz", GW_Q_FREQ},
                   {"mΩ", GW_Q_RES},   {"mOhm", GW_Q_RES},  {"A", GW_Q_CURRENT},
                   {"mA", GW_Q_CURRENT}};
    if (unit != NULL && strcmp(unit, "V") == 0) {
        if (name != NULL && (strstr(name, "Battery") || strstr(name, "battery"))) {
            return GW_Q_BATT_V;
        }
        if (name != NULL && (strncmp(name, "U", 1) == 0 || strstr(name, "AC"))) {
            return GW_Q_VAC;
        }
        return GW_Q_VDC;
    }
    for (size_t i = 0; unit != NULL && i < N(by_unit); i++) {
        if (strcmp(unit, by_unit[i].unit) == 0) {
            return by_unit[i].q;
        }
    }
    if (name != NULL && (strstr(name, "factor") || strncmp(name, "PF", 2) == 0)) {
        return GW_Q_PF;
    }
    return GW_Q_GENERIC;
}

/* ------------------------------------------------------------- signals */

static uint64_t mix(uint64_t x)
{
    /* splitmix64's finaliser: a good 64-bit hash of a counter. */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t mix2(uint64_t a, uint64_t b)
{
    return mix(a ^ mix(b));
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    }
    return h;
}

/* Uniform in [0, 1). */
static double u01(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal from a hash (Box-Muller). */
static double gauss(uint64_t h)
{
    double a = u01(h) + 1e-12, b = u01(mix(h));
    return sqrt(-2.0 * log(a)) * cos(6.283185307179586 * b);
}

/* Smooth noise in [-1, 1]: random knots at integer "x", cosine-interpolated. */
static double smooth(uint64_t seed, double x)
{
    double k = floor(x), f = x - k, w = (1.0 - cos(f * 3.141592653589793)) / 2.0;
    double a = 2.0 * u01(mix2(seed, (uint64_t)(int64_t)k)) - 1.0;
    double b = 2.0 * u01(mix2(seed, (uint64_t)(int64_t)k + 1)) - 1.0;
    return a + (b - a) * w;
}

static double round_to(double v, double step)
{
    return round(v / step) * step;
}

/* The load of an instrument's installation at "t_s" in [0.1, 1]: a working
 * day 07:00-19:00 (China Standard Time, the specification's zone) and
 * machines switching on and off in 15-minute slots. */
static double load_of(uint64_t iseed, int64_t t_s)
{
    double h = fmod((double)((t_s + 8 * 3600) % 86400), 86400.0) / 3600.0;
    double day = 0.25 + 0.75 / (1.0 + exp(-3.0 * (h - 7.0))) / (1.0 + exp(3.0 * (h - 19.0)));
    int64_t slot = t_s / 900;
    bool on = u01(mix2(iseed ^ 0x51u, (uint64_t)slot)) < (day > 0.6 ? 0.85 : 0.25);
    return on ? day : 0.1 + 0.2 * day;
}

/* cos of the day's phase with its peak at 15:00 CST. */
static double daily(int64_t t_s)
{
    double h = (double)((t_s + 8 * 3600) % 86400) / 3600.0;
    return cos(6.283185307179586 * (h - 15.0) / 24.0);
}

double gw_sim_value(const gw_sim_opts *o, const gw_instrument *ins, size_t c, int64_t t_us)
{
    const gw_channel *ch = &ins->ch[c];
    uint64_t iseed = mix2(o->seed, hash_str(ins->serial));
    uint64_t cseed = mix2(iseed, hash_str(ch->key));
    uint64_t hs = mix2(cseed, (uint64_t)t_us);
    int64_t t_s = t_us >= 0 ? t_us / 1000000 : -((-t_us + 999999) / 1000000);
    double u = u01(cseed), n = gauss(hs), dr = smooth(cseed ^ 0xD1u, (double)t_s / 21600.0);
    double load = load_of(iseed, t_s), v;
    double r = o->special_rate;

    if (r > 0) {
        double p = u01(mix(hs ^ 0x5Eu));
        if (p < 0.3 * r) {
            return mt_sv_value(MT_SV_MISSING);
        }
        if (p < 0.6 * r) {
            return mt_sv_value(ch->q == GW_Q_VDC && n < 0 ? MT_SV_OVER_NEG : MT_SV_OVER_POS);
        }
        if (ch->q == GW_Q_TEMP) {
            /* Thermocouple burn-out: episodes of 3 to 15 minutes in about
             * 30 x rate of the hours. */
            int64_t hour = t_s / 3600;
            uint64_t hh = mix2(cseed ^ 0xB7u, (uint64_t)hour);
            if (u01(hh) < 30.0 * r) {
                int64_t m0 = (int64_t)(hh % 60), d = 3 + (int64_t)((hh >> 8) % 13);
                int64_t m = (t_s % 3600) / 60;
                if (m >= m0 && m < m0 + d) {
                    return mt_sv_value(MT_SV_BREAK);
                }
            }
        }
    }

    switch (ch->q) {
    case GW_Q_TEMP:
        v = round_to(18.0 + 8.0 * u + 3.0 * daily(t_s) + 1.5 * dr + 0.05 * n, 0.1);
        break;
    case GW_Q_HUMID:
        v = round_to(50.0 + 10.0 * u - 12.0 * daily(t_s) + 5.0 * dr + 0.3 * n, 0.1);
        v = v < 0 ? 0 : v > 100 ? 100 : v;
        break;
    case GW_Q_VDC:
        v = round_to(1.0 + 8.0 * u + 0.02 * daily(t_s) + 0.05 * dr + 0.002 * n, 0.0001);
        break;
    case GW_Q_VAC:
        v = round_to(230.0 - 3.0 * (load - 0.5) + 1.0 * dr + 0.3 * n, 0.01);
        break;
    case GW_Q_CURRENT: {
        double ibase = 10.0 + 200.0 * u01(iseed);
        v = ibase * load * (1.0 + 0.02 * n);
        if (v > 600.0) {
            return mt_sv_value(MT_SV_OVER_POS); /* above the clamp's range */
        }
        v = round_to(v < 0 ? 0 : v, 0.01);
        break;
    }
    case GW_Q_POWER: {
        double ibase = 10.0 + 200.0 * u01(iseed), pf = 0.80 + 0.15 * load;
        v = round_to((230.0 - 3.0 * (load - 0.5)) * ibase * load * pf * (1.0 + 0.01 * n), 1.0);
        break;
    }
    case GW_Q_PF:
        v = round_to(0.80 + 0.15 * load + 0.005 * n, 0.001);
        v = v > 1.0 ? 1.0 : v;
        break;
    case GW_Q_FREQ:
        v = round_to(50.0 + 0.03 * smooth(cseed ^ 0xF4u, (double)t_s / 600.0) + 0.005 * n, 0.001);
        break;
    case GW_Q_RES: {
        /* A battery is swapped every 30 days or so: the resistance steps
         * back down and then rises as it ages. */
        int64_t period = 30LL * 86400, since = ((t_s % period) + period) % period;
        v = round_to(2.5 + 1.5 * u + 0.02 * (double)since / 86400.0 - 0.05 * daily(t_s) +
                         0.005 * n,
                     0.001);
        break;
    }
    case GW_Q_BATT_V: {
        /* Float charge, and a discharge of an hour in about a tenth of
         * the 6-hour slots. */
        int64_t slot = t_s / 21600;
        uint64_t hh = mix2(cseed ^ 0xBAu, (uint64_t)slot);
        double drop = 0;
        if (u01(hh) < 0.1) {
            int64_t in = t_s % 21600 - (int64_t)(hh % 18000);
            if (in >= 0 && in < 3600) {
                drop = 1.3 * (double)in / 3600.0;
            }
        }
        v = round_to(13.5 - 0.05 * daily(t_s) - drop + 0.002 * n, 0.001);
        break;
    }
    default:
        v = round_to(1.0 + u + 0.2 * dr + 0.01 * n, 0.001);
        break;
    }
    return v;
}
