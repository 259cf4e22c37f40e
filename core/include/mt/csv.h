/* Metron core: reader for HIOKI instrument text exports (.CSV / .TXT).
 *
 * HIOKI loggers (LR8400/LR8450/LR8431/MR88xx families) save measurements as
 * delimited text. mt_csv_read() parses one whole file held in memory into
 * channels (metadata plus one contiguous array of doubles each) and one array
 * of absolute sample times (mt_time, microseconds since the epoch, UTC).
 * docs/formats/hioki-csv.md describes every accepted variation; in short:
 *
 * - "Column" style (LR8400, LR8450, MR88xx): quoted key/value rows ("File
 *   name", "Title comment", "Trigger Time", "CH", "Mode", "Range", "UnitID",
 *   "Comment", "Scaling", "Ratio", "Offset"), then the title row
 *   ("Time","2-1[C]",...,"Event") and data rows (often with a trailing
 *   delimiter). "Row" style (LR8431): a "Ch","Mode","Range",... line then
 *   one line per channel. The header block may be absent (title row only, or
 *   data only: channels are then named "CH1", "CH2", ... by position).
 *   Keys match in any case, ignoring spaces and underscores.
 * - Delimiter: the first non-blank line decides: a tab outside quotes means
 *   tab, else a ';' means ';', else ','.
 * - Decimal mark: always '.' when the delimiter is ','. With ';' or tab the
 *   first number in the file that has a fractional mark ('.' or ',') decides,
 *   and every later number must use the same mark (MT_ESYNTAX otherwise).
 * - Time column (the first column): seconds from the trigger (E-notation
 *   allowed), relative "h:mm:ss[.f]" from the trigger, or absolute
 *   "[']YY-MM-DD hh:mm:ss[.f]" (also YYYY, '/' separators, 'T'). The first
 *   data row decides the format; every row must use it.
 * - Times in the file have no zone: the caller gives the instrument's UTC
 *   offset (options.utc_offset_minutes, e.g. +540 for JST) and
 *   UTC = local time - offset. Relative times are added to the trigger time;
 *   a file without a trigger time and with relative times gives times counted
 *   from 0 (1970-01-01T00:00Z) and meta.has_trigger == 0.
 * - Values: numbers, special words and sentinels (table in the docs) become
 *   the special values of mt/types.h. When "Scaling" is On the file already
 *   holds scaled values; ratio and offset are kept as metadata only.
 * - The "Event" column is a channel of kind MT_CSV_EVENT; logic and alarm
 *   columns are channels of kind MT_CSV_INTEGER (bit-packed LR8450 words are
 *   kept as their integer value).
 *
 * Errors carry the 1-based line and the 1-based byte column of the offending
 * cell (column 1 is the first byte after a UTF-8 BOM on line 1).
 *
 * Thread safety: a mt_csv handle is immutable after mt_csv_read() and may be
 * read from any number of threads; distinct calls share no state. */
#ifndef MT_CSV_H
#define MT_CSV_H

#include <stddef.h>

#include "mt/status.h"
#include "mt/types.h"

/* Hard caps (inputs beyond them fail with MT_ELIMIT and a position). */
#define MT_CSV_MAX_CHANNELS 1024     /* columns after the time column */
#define MT_CSV_MAX_LINE (1u << 20)   /* bytes in one line */
#define MT_CSV_MAX_FIELD 4096u       /* bytes in one cell */
#define MT_CSV_MAX_NUMBER 255u       /* bytes in one numeric token */

typedef struct mt_csv mt_csv;

/* Layout of the header block. */
typedef enum {
    MT_CSV_STYLE_BARE = 0,   /* no header block: title row only, or data only */
    MT_CSV_STYLE_COLUMN = 1, /* LR8400/LR8450/MR88xx: one key row per attribute */
    MT_CSV_STYLE_ROW = 2     /* LR8431: one line per channel */
} mt_csv_style;

/* Format of the time column, detected from the first data row. */
typedef enum {
    MT_CSV_TIME_SECONDS = 0,  /* seconds from the trigger: 0.000E+00, 1.5, ... */
    MT_CSV_TIME_CLOCK = 1,    /* relative h:mm:ss[.f] from the trigger */
    MT_CSV_TIME_ABSOLUTE = 2  /* local date-time YY-MM-DD hh:mm:ss[.f] */
} mt_csv_time_format;

/* What a channel's values are. */
typedef enum {
    MT_CSV_ANALOG = 0,  /* measured or computed values */
    MT_CSV_INTEGER = 1, /* logic and alarm columns: integral values */
    MT_CSV_EVENT = 2    /* the "Event" column: integer event marker numbers */
} mt_csv_kind;

/* Options for mt_csv_read(); pass NULL for the defaults (all zero). */
typedef struct {
    /* The instrument clock's offset from UTC in minutes (+540 for JST),
     * -1080..+1080. Applied to the trigger time and to absolute times. */
    int utc_offset_minutes;
    /* Maximum number of channels (columns after the time column); 0 means
     * MT_CSV_MAX_CHANNELS, larger values are clamped to it. */
    size_t max_channels;
} mt_csv_options;

/* File metadata. Strings are NUL-terminated, never NULL ("" when absent),
 * copied byte for byte from the file (no charset conversion), and borrowed
 * until mt_csv_free(). */
typedef struct {
    const char *file_name; /* "File name" cell 2 */
    const char *version;   /* "File name" cell 3 (format/firmware version) */
    const char *title;     /* "Title comment" */
    int has_trigger;       /* 1 when a trigger time row was read */
    mt_time trigger;       /* trigger (start) time in UTC; 0 if has_trigger == 0 */
    mt_csv_style style;
    char delimiter;        /* ',', ';' or '\t' */
    char decimal_mark;     /* '.' or ',' */
    mt_csv_time_format time_format;
    int has_bom;           /* 1 when the file began with a UTF-8 BOM */
} mt_csv_meta;

/* One channel. Strings as in mt_csv_meta. */
typedef struct {
    const char *name;    /* "CH" row / row-style name, else the title without
                          * its [unit], else "CH<n>" (n = 1-based column) */
    const char *title;   /* the column-title cell as written ("" if no title row) */
    const char *unit;    /* from "[...]" in the title ("" if none) */
    const char *mode;    /* "Voltage", "Tc", "Logic", ... ("" if absent) */
    const char *range;
    const char *unit_id; /* LR8450 "UnitID" row */
    const char *comment;
    int scaling;         /* 1 On, 0 Off, -1 not stated */
    double ratio;        /* 1 when not stated */
    double offset;       /* 0 when not stated */
    mt_csv_kind kind;
} mt_csv_channel;

/* Parse the text export "buf" of "len" bytes (need not be NUL-terminated).
 * "opt" may be NULL. On success *out is set and the caller owns it (free
 * with mt_csv_free()). On failure *out is NULL, nothing leaks, and "err"
 * (may be NULL) holds the code, the byte offset "pos" and the 1-based "line"
 * and "col" of the problem. Errors:
 *   MT_EINVAL   NULL "out", NULL "buf" with len > 0, utc offset out of range;
 *   MT_EFORMAT  not a text export (a NUL byte or other binary control bytes,
 *               e.g. a .MEM file), an empty file, a header without a title row,
 *               a title row without channel columns;
 *   MT_ESYNTAX  unterminated quote, junk after a closing quote, a row with too
 *               many or too few cells, an unparsable number, time or date, a
 *               non-integer in an integer column, a bad Scaling cell, a header
 *               row wider than the title row, a mixed decimal mark;
 *   MT_EORDER   a time smaller than the previous row's;
 *   MT_ERANGE   a time that does not fit mt_time;
 *   MT_ELIMIT   too many channels, a line, cell or number over its cap;
 *   MT_ENOMEM   allocation failed.
 * Memory use is bounded by a small multiple of "len" (about 8 bytes per
 * data cell plus the copied header strings). */
mt_status mt_csv_read(const char *buf, size_t len, const mt_csv_options *opt, mt_csv **out,
                      mt_error *err) MT_MUSTCHECK;

/* Release "csv" and everything borrowed from it. Accepts NULL. */
void mt_csv_free(mt_csv *csv);

/* The file metadata, borrowed until mt_csv_free(). */
const mt_csv_meta *mt_csv_meta_of(const mt_csv *csv);

/* Number of channels (>= 1). */
size_t mt_csv_channel_count(const mt_csv *csv);

/* Channel "i" (0-based, in column order), or NULL when i is out of range.
 * Borrowed until mt_csv_free(). */
const mt_csv_channel *mt_csv_channel_at(const mt_csv *csv, size_t i);

/* Number of data rows (may be 0). */
size_t mt_csv_row_count(const mt_csv *csv);

/* The sample times: mt_csv_row_count() values, non-decreasing, UTC.
 * Borrowed until mt_csv_free(); NULL when there are no rows. */
const mt_time *mt_csv_times(const mt_csv *csv);

/* The values of channel "i": mt_csv_row_count() doubles (special values as
 * in mt/types.h). Borrowed until mt_csv_free(); NULL when i is out of range
 * or there are no rows. */
const double *mt_csv_values(const mt_csv *csv, size_t i);

#endif
