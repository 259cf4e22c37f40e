/* Instants as people and scripts write them (RFC 3339):
 * "2026-12-01T22:30:00Z", "2026-12-02T06:30:00+08:00", with an optional
 * fraction of a second (dropped). The operator's API takes them. */
#ifndef MTS_ISOTIME_H
#define MTS_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

#include "mt/status.h"

/* Parse "s" ("len" bytes, no NUL needed) into Unix seconds *out. Strict:
 * four-digit year 1970..9999, "T" (or "t" or a blank), two-digit fields in
 * range (no leap second), "Z"/"z" or an offset "+HH:MM"/"-HH:MM" up to
 * 23:59, nothing after it; the fraction has 1..9 digits; not before 1970 in
 * UTC. Returns 0, or -1 (nothing written) for anything else. Reads only "len" bytes. */
MT_MUSTCHECK
int iso_time_parse(const char *s, size_t len, int64_t *out);

/* Write Unix seconds "t" as "YYYY-MM-DDTHH:MM:SSZ" into "buf" (at least
 * ISO_TIME_LEN bytes). Returns 0, or -1 outside years 1970..9999. */
#define ISO_TIME_LEN 21
int iso_time_format(int64_t t, char *buf, size_t cap);

#endif
