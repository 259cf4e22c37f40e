/* Simulated instruments of metron-gateway (docs/gateway.md): the catalogue
 * of models the gateway can play and the signals of their channels.
 *
 * A channel's value is a pure function of (seed, instrument serial, channel
 * key, time): the same instrument gives the same values at the same times
 * in every run, so a restarted gateway can read back the minutes it missed
 * from the instrument's "memory" (regenerate them) and a test can check
 * what arrived. The signal is plausible for its quantity: a daily cycle,
 * slow drift, noise, steps (loads switching, a battery swapped) and the
 * instruments' special values — over range either way, a broken sensor
 * (thermocouple burn-out, in episodes of minutes), missing samples — at
 * a rate set by gw_sim_opts.special_rate. Values carry core's special-value
 * encoding (mt/types.h). Nothing here allocates except gw_instrument_*. */
#ifndef GW_SIM_H
#define GW_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a channel measures: decides its level, cycle, noise and range. */
typedef enum {
    GW_Q_TEMP = 0,   /* temperature, °C (thermocouple: sensor breaks) */
    GW_Q_HUMID,      /* relative humidity, %RH */
    GW_Q_VDC,        /* DC voltage, V */
    GW_Q_VAC,        /* AC voltage (RMS), V */
    GW_Q_CURRENT,    /* current, A (follows the instrument's load) */
    GW_Q_POWER,      /* active power, W (voltage x current x PF) */
    GW_Q_PF,         /* power factor */
    GW_Q_FREQ,       /* frequency, Hz */
    GW_Q_RES,        /* battery internal resistance, mΩ */
    GW_Q_BATT_V,     /* battery voltage, V */
    GW_Q_GENERIC,    /* anything else: a level with noise */
    GW_Q_COUNT
} gw_quantity;

#define GW_MODEL_MAX 24
#define GW_SERIAL_MAX 64
#define GW_FIRMWARE_MAX 32
#define GW_NAME_MAX 64
#define GW_KEY_MAX 32
#define GW_UNIT_MAX 16
/* Channels of one simulated instrument: above an LR8450's 330 and the
 * 1,000 selected channels of P11. */
#define GW_CHANNELS_MAX 1000
/* Instruments of one app: P12 allows 8; a larger number is for load tests
 * against a server with other limits. */
#define GW_INSTRUMENTS_MAX 1000

typedef struct {
    char key[GW_KEY_MAX + 1];   /* "CH1_1", "U1" */
    char name[GW_NAME_MAX + 1]; /* "Temperature 1" */
    char unit[GW_UNIT_MAX + 1]; /* "°C" */
    gw_quantity q;
} gw_channel;

typedef struct {
    char model[GW_MODEL_MAX + 1];       /* catalogue model, e.g. "LR8450" */
    char serial[GW_SERIAL_MAX + 1];
    char firmware[GW_FIRMWARE_MAX + 1]; /* "V2.30" */
    char name[GW_NAME_MAX + 1];
    gw_channel *ch;                     /* owned; gw_instrument_clear() frees */
    size_t n_ch;
} gw_instrument;

typedef struct {
    uint64_t seed;       /* the signals' seed (same seed, same values) */
    double special_rate; /* about this share of samples is special (0 = none) */
} gw_sim_opts;

/* Whether "kind" ("one", "cross", "lr8450-direct") is an app kind. */
bool gw_kind_valid(const char *kind);

/* Whether the gateway can play "model", and for app "kind". */
bool gw_model_known(const char *model);
bool gw_model_fits(const char *model, const char *kind);

/* The model the "i"-th default instrument of an app of "kind" plays: One
 * cycles logger, power analyser, battery tester; Cross clamp meter, battery
 * tester; an LR8450 direct app is one LR8450. NULL for an unknown kind. */
const char *gw_default_model(const char *kind, size_t i);

/* The firmware a new instrument of "model" runs (its current release), or
 * "V1.00" for a model the gateway does not know. */
const char *gw_model_firmware(const char *model);

/* The comma-separated models the gateway can play, for messages. */
const char *gw_models_list(void);

/* Build instrument "i" of model "model" into "out" (zeroed by the caller):
 * serial "<tag>-<i+1>", the model's current firmware, its channels
 * ("n_logger_channels" for a logger, 1..GW_CHANNELS_MAX; fixed sets for the
 * others). 0, or -1 with a sentence in "err" (unknown model, no memory). */
int gw_instrument_make(const char *model, size_t i, const char *tag, size_t n_logger_channels,
                       gw_instrument *out, char *err, size_t err_cap);

/* Free the channels of "ins" and zero it (NULL-safe). */
void gw_instrument_clear(gw_instrument *ins);

/* The quantity a channel measures, guessed from its unit and name (for
 * instruments the server lists that the gateway did not create). */
gw_quantity gw_quantity_of(const char *unit, const char *name);

/* The name of quantity "q" ("temperature") and back (-1 when unknown). */
const char *gw_quantity_name(gw_quantity q);
int gw_quantity_from_name(const char *name);

/* The value of channel "c" of instrument "ins" at "t_us" (µs since 1970,
 * UTC): a finite number rounded to the instrument's resolution, or one of
 * core's special values. Pure: no state, thread-safe. */
double gw_sim_value(const gw_sim_opts *o, const gw_instrument *ins, size_t c, int64_t t_us);

#endif
