/* The supported-instrument table (I4): the only copy in Metron of the
 * specification's table "支持的仪器版本" (seed/service-spec-v06.zh.md,
 * docs/gateway.md "Supported instruments"). For every model: the app kinds
 * it works with and, per function, the minimum firmware:
 *
 *   monitoring       监视 (acquired data reaches Metron: batches, live samples)
 *   drive_data       驱动器 / GENNECT 获取数据 (the drive's acquired-data sets)
 *   drive_files      驱动器 / 文件 (instrument data files through the app)
 *   alarms           报警
 *   console          控制台 (remote operation)
 *
 * A NULL minimum is the table's "-": the function does not exist for that
 * model. The table leaves the drive_data column blank for every model: its
 * minimum is the monitoring one (the acquired data is the cloud's own).
 * Combined names are split ("LR8410/16" = LR8410 and LR8416); the LR8450
 * has one row per app kind (V1.50 through One, V2.20 connected directly).
 * Footnote *1 of PQ3198's drive files ("the current day's file cannot be
 * obtained; it can after stopping the measurement") is kept as a note.
 * Pure data and functions: no database, no allocation, thread-safe. */
#ifndef MTS_INSTRUMENTS_H
#define MTS_INSTRUMENTS_H

#include <stdbool.h>
#include <stddef.h>

#define INSTR_APP_ONE 1u
#define INSTR_APP_CROSS 2u
#define INSTR_APP_DIRECT 4u

typedef enum {
    INSTR_MONITORING = 0,
    INSTR_DRIVE_DATA,
    INSTR_DRIVE_FILES,
    INSTR_ALARMS,
    INSTR_CONSOLE,
    INSTR_FUNCTIONS
} instr_function;

typedef struct {
    const char *model;
    unsigned apps;                      /* INSTR_APP_* this row applies to */
    const char *min[INSTR_FUNCTIONS];   /* "V1.50"; NULL = "-" (not supported) */
    const char *note[INSTR_FUNCTIONS];  /* a footnote of the specification, or NULL */
} instr_row;

/* The whole table (static) and its length: one row per model and app
 * kinds, in the specification's order. */
const instr_row *instr_table(size_t *n);

/* The row of "model" for app kind "app" (an INSTR_APP_* bit), or NULL when
 * the model is not in the table for that kind. */
const instr_row *instr_find(const char *model, unsigned app);

/* The app kinds "model" works with (0 when it is not in the table). */
unsigned instr_model_apps(const char *model);

/* The INSTR_APP_* bit of app kind "kind" ("one", "cross", "lr8450-direct"),
 * 0 when unknown. */
unsigned instr_app_bit(const char *kind);

/* "monitoring", "drive_data", ... and the words a person reads ("monitoring",
 * "drive (acquired data)", "drive (files)", "alarms", "console"). */
const char *instr_function_name(instr_function f);
const char *instr_function_words(instr_function f);

/* The minimum firmware of function "f" in "row" (drive_data: the
 * monitoring one), or NULL for "-". */
const char *instr_min(const instr_row *row, instr_function f);

/* Whether "fw" is a firmware version ("", "1.50", "V2.20": a V, then 1 to 4
 * parts of 1 to 4 digits). */
bool instr_firmware_valid(const char *fw);

/* Compare versions "a" and "b" numerically (a leading V ignored): <0, 0, >0. */
int instr_firmware_cmp(const char *a, const char *b);

typedef enum {
    INSTR_OK = 0,          /* allowed (also: firmware not known, "") */
    INSTR_NOT_IN_TABLE,    /* the model is not supported for this app kind */
    INSTR_NOT_SUPPORTED,   /* the table's "-" */
    INSTR_FIRMWARE_TOO_OLD /* below the minimum */
} instr_verdict;

/* May function "f" be used with an instrument "model" of firmware "fw" on
 * an app of kind "app"? On a refusal, "why" ("cap" bytes, may be NULL)
 * receives one English sentence naming the model, the firmware, the
 * function and the version needed, e.g. "LR8450 with firmware V1.40: alarms
 * need firmware V1.50 or later (supported-instrument table)". */
instr_verdict instr_check(const char *model, unsigned app, const char *fw, instr_function f,
                          char *why, size_t cap);

/* instr_check() for monitoring as a sentence that lives as long as the
 * process (interned, at most 4096 distinct ones; later ones share a
 * general sentence), or NULL when allowed: for the ingestion channel
 * tables, which are copied freely. Thread-safe. */
const char *instr_monitoring_refusal(const char *model, unsigned app, const char *fw);

#endif
