/* The saved state of a simulated gateway app (docs/gateway.md, "State
 * folder"): which server, which kind of app, which instruments with which
 * channels and firmware. Kept as JSON in STATE/gateway.json so that a
 * restarted gateway plays the same app with the same instruments; the
 * file can be edited by hand, so reading it checks every field and bound
 * (tests/fuzz/gateway/fuzz_gw_state.c). */
#ifndef GW_STATE_H
#define GW_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define GW_URL_MAX 512
#define GW_TAG_MAX 16
/* The largest state file read: 1,000 instruments of 1,000 channels do not
 * fit in less, a hand-edited file should not be larger. */
#define GW_STATE_FILE_MAX (64u << 20)

typedef struct {
    char server[GW_URL_MAX + 1]; /* base URL, "https://host:port" */
    char kind[16];               /* "one", "cross", "lr8450-direct" */
    char tag[GW_TAG_MAX + 1];    /* serial prefix and batch id prefix */
    uint64_t seed;
    int interval_s;              /* seconds between samples (1..3600) */
    gw_instrument *ins;          /* owned */
    size_t n_ins;
} gw_state;

/* Parse the JSON text "text" ("len" bytes) into "st" (zeroed by the
 * caller). 0, or -1 with a sentence naming the field at fault in "err";
 * on -1 "st" holds nothing to free beyond gw_state_clear(). */
int gw_state_parse(const char *text, size_t len, gw_state *st, char *err, size_t err_cap);

/* The JSON text of "st" (caller frees), or NULL when out of memory. */
char *gw_state_print(const gw_state *st);

/* Read / write STATE_DIR/gateway.json. gw_state_load(): 1 loaded, 0 no file,
 * -1 error in "err". gw_state_save(): written atomically (temporary file,
 * fsync, rename); 0 or -1. */
int gw_state_load(const char *dir, gw_state *st, char *err, size_t err_cap);
int gw_state_save(const char *dir, const gw_state *st, char *err, size_t err_cap);

/* Free the instruments of "st" and zero it (NULL-safe). */
void gw_state_clear(gw_state *st);

/* Whether "s" is a tag (1..16 of A-Z a-z 0-9), a key (1..32 of letters,
 * digits, _ . -), a firmware version ("V2.30", "1.50"), printable text of
 * 0..max bytes without control characters. */
int gw_tag_valid(const char *s);
int gw_key_valid(const char *s);
int gw_firmware_valid(const char *s);
int gw_text_valid(const char *s, size_t min, size_t max);

/* Compare firmware versions numerically ("V1.50" < "V2.2" < "V2.20"). */
int gw_firmware_cmp(const char *a, const char *b);

/* File helpers shared by the state, the spool and the cursor: read a whole
 * file of at most "max" bytes (NUL-terminated; caller frees; NULL with errno
 * set: ENOENT, EFBIG, ...), and write one atomically (0 / -1 with errno). */
char *gw_read_file(const char *path, size_t max, size_t *len);
int gw_write_file_atomic(const char *dir, const char *name, const char *data, size_t len,
                         int mode);

#endif
