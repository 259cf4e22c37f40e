/* The supported-instrument table (see instruments.h). */
#define _POSIX_C_SOURCE 200809L
#include "instruments.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define O INSTR_APP_ONE
#define X INSTR_APP_CROSS
#define D INSTR_APP_DIRECT
#define NO NULL   /* the table's "-" */
#define AS ""     /* drive_data: the column is blank, see instruments.h */

/* ALL(v): monitoring, drive files, alarms and console at "v". NOCON(v): the
 * same without console (the "-" of most models). */
#define ALL(v) {v, AS, v, v, v}
#define NOCON(v) {v, AS, v, v, NO}
#define NOTE_NONE {NULL, NULL, NULL, NULL, NULL}

static const instr_row table[] = {
    {"LR8410", O, NOCON("V1.43"), NOTE_NONE},
    {"LR8416", O, NOCON("V1.43"), NOTE_NONE},
    {"LR8450", O, ALL("V1.50"), NOTE_NONE},
    {"LR8450", D, ALL("V2.20"), NOTE_NONE},
    {"LR8450-01", O, ALL("V1.50"), NOTE_NONE},
    {"LR8450-01", D, ALL("V2.20"), NOTE_NONE},
    {"MR6000", O, ALL("V3.11"), NOTE_NONE},
    {"MR6000-01", O, ALL("V3.11"), NOTE_NONE},
    {"PQ3100", O, ALL("V2.30"), NOTE_NONE},
    {"PQ3198", O, ALL("V2.00"),
     {NULL, NULL,
      "*1 the current day's file cannot be obtained (it can after stopping the measurement)",
      NULL, NULL}},
    {"PW3360-10", O, ALL("V3.21"), NOTE_NONE},
    {"PW3360-11", O, ALL("V3.21"), NOTE_NONE},
    {"PW3365", O, ALL("V2.10"), NOTE_NONE},
    {"PW3335", O, {"V1.11", AS, NO, "V1.11", "V1.11"}, NOTE_NONE},
    {"PW3336", O, {"V1.23", AS, NO, "V1.23", "V1.23"}, NOTE_NONE},
    {"PW3337", O, {"V1.23", AS, NO, "V1.23", "V1.23"}, NOTE_NONE},
    {"PW3390", O, ALL("V2.01"), NOTE_NONE},
    {"PW6001", O, ALL("V3.03"), NOTE_NONE},
    {"PW8001", O, ALL("V1.00"), NOTE_NONE},
    {"BT5525", O, NOCON("V1.00"), NOTE_NONE},
    {"ST5680", O, NOCON("V1.00"), NOTE_NONE},
    {"IM3523A", O, NOCON("V1.02"), NOTE_NONE},
    {"BT3554-01", O | X, NOCON("V1.01"), NOTE_NONE},
    {"BT3554-50", O | X, NOCON("V2.01"), NOTE_NONE},
    {"CM4142", X, NOCON("V1.01"), NOTE_NONE},
    {"CM4372", X, NOCON("V1.01"), NOTE_NONE},
    {"CM4374", X, NOCON("V2.03"), NOTE_NONE},
    {"CM4376", X, NOCON("V1.03"), NOTE_NONE},
    {"CM3286-01", X, NOCON("V1.01"), NOTE_NONE},
    {"CM7291", X, NOCON("V1.03"), NOTE_NONE},
    {"FT3425", X, NOCON("V1.10"), NOTE_NONE},
    {"FT4310", X, NOCON("V1.03"), NOTE_NONE},
    {"IR4054-11", X, NOCON("V1.02"), NOTE_NONE},
    {"IR4055-11", X, NOCON("V1.03"), NOTE_NONE},
    {"IR4058-20", X, NOCON("V1.02"), NOTE_NONE},
    {"CM4001", X, NOCON("V1.02"), NOTE_NONE},
    {"CM4002", X, NOCON("V1.00"), NOTE_NONE},
    {"CM4003", X, NOCON("V1.00"), NOTE_NONE},
    {"FT6031-50", X, NOCON("V1.01"), NOTE_NONE},
    {"PD3259-50", X, NOCON("V1.00"), NOTE_NONE},
    {"IR4052-50", X, NOCON("V1.00"), NOTE_NONE},
    {"FT6380-50", X, NOCON("V1.00"), NOTE_NONE},
    {"DT4261", X, NOCON("V1.01"), NOTE_NONE},
    {"CM4371-50", X, NOCON("V1.00"), NOTE_NONE},
    {"CM4373-50", X, NOCON("V1.00"), NOTE_NONE},
    {"CM4375-50", X, NOCON("V1.00"), NOTE_NONE},
    {"CM4141-50", X, NOCON("V1.00"), NOTE_NONE},
    {"CM3286-50", X, NOCON("V1.00"), NOTE_NONE},
};

#undef O
#undef X
#undef D

static const char *const function_names[INSTR_FUNCTIONS] = {
    "monitoring", "drive_data", "drive_files", "alarms", "console"};
static const char *const function_words[INSTR_FUNCTIONS] = {
    "monitoring", "the drive's acquired data", "the drive's instrument files", "alarms",
    "the console"};
static const char *const function_verb[INSTR_FUNCTIONS] = {"needs", "needs", "need", "need",
                                                           "needs"};

const instr_row *instr_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}

const instr_row *instr_find(const char *model, unsigned app)
{
    for (size_t i = 0; model != NULL && i < sizeof table / sizeof table[0]; i++) {
        if ((table[i].apps & app) != 0 && strcmp(table[i].model, model) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

unsigned instr_model_apps(const char *model)
{
    unsigned apps = 0;
    for (size_t i = 0; model != NULL && i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].model, model) == 0) {
            apps |= table[i].apps;
        }
    }
    return apps;
}

unsigned instr_app_bit(const char *kind)
{
    if (kind == NULL) {
        return 0;
    }
    if (strcmp(kind, "one") == 0) {
        return INSTR_APP_ONE;
    }
    if (strcmp(kind, "cross") == 0) {
        return INSTR_APP_CROSS;
    }
    if (strcmp(kind, "lr8450-direct") == 0) {
        return INSTR_APP_DIRECT;
    }
    return 0;
}

const char *instr_function_name(instr_function f)
{
    return (unsigned)f < INSTR_FUNCTIONS ? function_names[f] : "?";
}

const char *instr_function_words(instr_function f)
{
    return (unsigned)f < INSTR_FUNCTIONS ? function_words[f] : "?";
}

const char *instr_min(const instr_row *row, instr_function f)
{
    const char *v;
    if (row == NULL || (unsigned)f >= INSTR_FUNCTIONS) {
        return NULL;
    }
    v = row->min[f];
    return v != NULL && v[0] == '\0' ? row->min[INSTR_MONITORING] : v;
}

bool instr_firmware_valid(const char *fw)
{
    int parts = 0;
    if (fw == NULL) {
        return false;
    }
    if (*fw == '\0') {
        return true;
    }
    if (*fw == 'V' || *fw == 'v') {
        fw++;
    }
    for (;;) {
        int digits = 0;
        while (isdigit((unsigned char)*fw) && digits < 4) {
            fw++;
            digits++;
        }
        if (digits == 0 || isdigit((unsigned char)*fw) || ++parts > 4) {
            return false;
        }
        if (*fw == '\0') {
            return true;
        }
        if (*fw != '.') {
            return false;
        }
        fw++;
    }
}

int instr_firmware_cmp(const char *a, const char *b)
{
    if (*a == 'V' || *a == 'v') {
        a++;
    }
    if (*b == 'V' || *b == 'v') {
        b++;
    }
    while (*a != '\0' || *b != '\0') {
        long x = 0, y = 0;
        for (; isdigit((unsigned char)*a); a++) {
            x = x < 100000 ? x * 10 + (*a - '0') : x;
        }
        for (; isdigit((unsigned char)*b); b++) {
            y = y < 100000 ? y * 10 + (*b - '0') : y;
        }
        if (x != y) {
            return x < y ? -1 : 1;
        }
        /* A dot goes on to the next part; anything else ends the version. */
        a = *a == '.' ? a + 1 : a + strlen(a);
        b = *b == '.' ? b + 1 : b + strlen(b);
    }
    return 0;
}

instr_verdict instr_check(const char *model, unsigned app, const char *fw, instr_function f,
                          char *why, size_t cap)
{
    const instr_row *row = instr_find(model, app);
    const char *need;
    const char *words = instr_function_words(f);
    if (row == NULL) {
        if (why != NULL) {
            snprintf(why, cap, "%.32s is not a supported instrument for this kind of app "
                     "(supported-instrument table)", model != NULL ? model : "?");
        }
        return INSTR_NOT_IN_TABLE;
    }
    need = instr_min(row, f);
    if (need == NULL) {
        if (why != NULL) {
            snprintf(why, cap, "%s does not support %s with any firmware (supported-instrument "
                     "table: \"-\")", row->model, words);
        }
        return INSTR_NOT_SUPPORTED;
    }
    if (fw != NULL && fw[0] != '\0' && instr_firmware_cmp(fw, need) < 0) {
        if (why != NULL) {
            snprintf(why, cap, "%s with firmware %.32s: %s %s firmware %s or later "
                     "(supported-instrument table)", row->model, fw, words, function_verb[f],
                     need);
        }
        return INSTR_FIRMWARE_TOO_OLD;
    }
    return INSTR_OK;
}

/* ------------------------------------------------------------- interned */

#define INTERN_MAX 4096
static pthread_mutex_t intern_mu = PTHREAD_MUTEX_INITIALIZER;
static char *interned[INTERN_MAX];
static size_t n_interned;

const char *instr_monitoring_refusal(const char *model, unsigned app, const char *fw)
{
    char why[240];
    const char *out = NULL;
    if (instr_check(model, app, fw, INSTR_MONITORING, why, sizeof why) == INSTR_OK) {
        return NULL;
    }
    pthread_mutex_lock(&intern_mu);
    for (size_t i = 0; i < n_interned; i++) {
        if (strcmp(interned[i], why) == 0) {
            out = interned[i];
            break;
        }
    }
    if (out == NULL && n_interned < INTERN_MAX && (out = strdup(why)) != NULL) {
        interned[n_interned++] = (char *)out;
    }
    pthread_mutex_unlock(&intern_mu);
    return out != NULL ? out
                       : "the instrument's firmware is too old for monitoring "
                         "(supported-instrument table)";
}
