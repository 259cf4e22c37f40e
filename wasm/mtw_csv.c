/* WebAssembly exports of the HIOKI text-export reader (mt/csv.h). Thin
 * wrappers only: times leave as milliseconds in doubles (no int64 across the
 * JS boundary), strings as borrowed pointers, numbers as doubles. */
#include <emscripten.h>

#include "mt/csv.h"

/* Parse "buf"/"len" with the instrument's "utc_offset_minutes"; store the
 * handle at *out (free with mtw_csv_free()). Returns an mt_status. */
EMSCRIPTEN_KEEPALIVE int mtw_csv_read(const char *buf, size_t len, int utc_offset_minutes,
                                      int max_channels, mt_csv **out, mt_error *err)
{
    mt_csv_options opt;
    opt.utc_offset_minutes = utc_offset_minutes;
    opt.max_channels = max_channels > 0 ? (size_t)max_channels : 0;
    return mt_csv_read(buf, len, &opt, out, err);
}

EMSCRIPTEN_KEEPALIVE void mtw_csv_free(mt_csv *csv)
{
    mt_csv_free(csv);
}

/* Meta strings: 0 file name, 1 version, 2 title. */
EMSCRIPTEN_KEEPALIVE const char *mtw_csv_meta_str(const mt_csv *csv, int which)
{
    const mt_csv_meta *m = mt_csv_meta_of(csv);
    return which == 0 ? m->file_name : which == 1 ? m->version : m->title;
}

/* Meta numbers: 0 has_trigger, 1 trigger (ms), 2 style, 3 delimiter (char
 * code), 4 decimal mark (char code), 5 time format, 6 has_bom. */
EMSCRIPTEN_KEEPALIVE double mtw_csv_meta_num(const mt_csv *csv, int which)
{
    const mt_csv_meta *m = mt_csv_meta_of(csv);
    switch (which) {
    case 0:
        return m->has_trigger;
    case 1:
        return (double)m->trigger / (double)MT_US_PER_MS;
    case 2:
        return m->style;
    case 3:
        return (unsigned char)m->delimiter;
    case 4:
        return (unsigned char)m->decimal_mark;
    case 5:
        return m->time_format;
    default:
        return m->has_bom;
    }
}

EMSCRIPTEN_KEEPALIVE int mtw_csv_channel_count(const mt_csv *csv)
{
    return (int)mt_csv_channel_count(csv);
}

/* Channel strings: 0 name, 1 title, 2 unit, 3 mode, 4 range, 5 unit id,
 * 6 comment. */
EMSCRIPTEN_KEEPALIVE const char *mtw_csv_channel_str(const mt_csv *csv, int i, int which)
{
    const mt_csv_channel *ch = mt_csv_channel_at(csv, (size_t)i);
    if (!ch) {
        return "";
    }
    switch (which) {
    case 0:
        return ch->name;
    case 1:
        return ch->title;
    case 2:
        return ch->unit;
    case 3:
        return ch->mode;
    case 4:
        return ch->range;
    case 5:
        return ch->unit_id;
    default:
        return ch->comment;
    }
}

/* Channel numbers: 0 scaling (-1/0/1), 1 ratio, 2 offset, 3 kind. */
EMSCRIPTEN_KEEPALIVE double mtw_csv_channel_num(const mt_csv *csv, int i, int which)
{
    const mt_csv_channel *ch = mt_csv_channel_at(csv, (size_t)i);
    if (!ch) {
        return 0;
    }
    switch (which) {
    case 0:
        return ch->scaling;
    case 1:
        return ch->ratio;
    case 2:
        return ch->offset;
    default:
        return ch->kind;
    }
}

EMSCRIPTEN_KEEPALIVE int mtw_csv_row_count(const mt_csv *csv)
{
    return (int)mt_csv_row_count(csv);
}

/* Write the row times as milliseconds into "out" (row count doubles). */
EMSCRIPTEN_KEEPALIVE void mtw_csv_times_ms(const mt_csv *csv, double *out)
{
    const mt_time *t = mt_csv_times(csv);
    size_t i, n = mt_csv_row_count(csv);
    for (i = 0; i < n; i++) {
        out[i] = (double)t[i] / (double)MT_US_PER_MS;
    }
}

/* The values of channel "i" (row count doubles), borrowed until
 * mtw_csv_free(). */
EMSCRIPTEN_KEEPALIVE const double *mtw_csv_values(const mt_csv *csv, int i)
{
    return mt_csv_values(csv, (size_t)i);
}
