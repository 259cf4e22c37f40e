/* Reader for HIOKI instrument text exports: see mt/csv.h and
 * docs/formats/hioki-csv.md for the accepted layouts and rules.
 *
 * One pass over the buffer through a bounded cursor. Each line is split into
 * cells that point into the input (quoted cells with "" escapes are unescaped
 * into a per-line scratch buffer). Header rows are recognised by their first
 * cell; the title row ("Time", ...) fixes the column count; data rows are
 * parsed into one row-major block that grows geometrically and is transposed
 * once at the end into the contiguous per-channel arrays of the handle. */
#include "mt/csv.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "csv_int.h"

#define NO_POS SIZE_MAX
#define SENTINEL 9.9999e99 /* |v| >= this is over range (see the docs) */
#define CONTROL_SCAN 4096  /* bytes checked for binary control characters */

typedef struct {
    size_t start;  /* offset in buf of the cell's first byte (its quote if quoted) */
    size_t off;    /* content: offset in buf, or in scratch when "esc" */
    size_t len;
    unsigned char quoted, esc;
} cell;

/* Header facts for one column (column style) or one channel line (row style).
 * Strings are offsets into the string buffer; 0 is "". */
typedef struct {
    size_t name, mode, range, unit_id, comment;
    int scaling;
    double ratio, offset;
    int used;
} hcol;

enum {
    K_NONE,
    K_FILENAME,
    K_TITLE,
    K_TRIGGER,
    K_CH,
    K_MODE,
    K_RANGE,
    K_UNITID,
    K_COMMENT,
    K_SCALING,
    K_RATIO,
    K_OFFSET,
    K_TIME
};

static const struct {
    const char *key;
    int id;
} key_table[] = {
    {"filename", K_FILENAME},      {"titlecomment", K_TITLE}, {"title", K_TITLE},
    {"triggertime", K_TRIGGER},    {"starttriggertime", K_TRIGGER},
    {"trigtime", K_TRIGGER},       {"starttime", K_TRIGGER},  {"ch", K_CH},
    {"channel", K_CH},             {"mode", K_MODE},          {"range", K_RANGE},
    {"unitid", K_UNITID},          {"comment", K_COMMENT},    {"scaling", K_SCALING},
    {"ratio", K_RATIO},            {"offset", K_OFFSET},      {"time", K_TIME},
    {"date", K_TIME},              {"datetime", K_TIME},      {"date&time", K_TIME},
    {"date/time", K_TIME},
};

/* Special-value words, compared lowercased with spaces removed. */
static const struct {
    const char *word;
    mt_sv kind;
} sv_table[] = {
    {"+over", MT_SV_OVER_POS}, {"over", MT_SV_OVER_POS},  {"+overrange", MT_SV_OVER_POS},
    {"-over", MT_SV_OVER_NEG}, {"-overrange", MT_SV_OVER_NEG}, {"burnout", MT_SV_BREAK},
    {"burn-out", MT_SV_BREAK}, {"b.out", MT_SV_BREAK},    {"-", MT_SV_MISSING},
    {"--", MT_SV_MISSING},     {"nan", MT_SV_MISSING},    {"inf", MT_SV_OVER_POS},
    {"+inf", MT_SV_OVER_POS},  {"-inf", MT_SV_OVER_NEG},  {"error", MT_SV_ERROR},
    {"err", MT_SV_ERROR},
};

struct mt_csv {
    mt_csv_meta meta;
    mt_csv_channel *channels;
    size_t n_ch;
    size_t n_rows;
    mt_time *times;
    double *values; /* column-major: channel i at values + i * n_rows */
    char *strings;
};

typedef struct {
    const char *buf;
    size_t len, off, body;
    size_t line_no, line_start, line_end;
    int eof;
    char delim, mark;
    int allow_comma;
    size_t max_ch;
    int utc_off_min;

    cell *cells;
    size_t n_cells, cells_cap, cell_limit, extra_start;
    char *scratch;
    size_t scratch_len, scratch_cap;
    char *sb;
    size_t sb_len, sb_cap;

    hcol *cols; /* column style: index = data column - 1 */
    size_t n_cols, cols_cap;
    hcol *rows; /* row style: channel lines in order */
    size_t n_rows_h, rows_cap;
    int *row_fields; /* row style: field key of each cell of the "Ch" line */
    size_t n_row_fields;
    size_t hdr_max_idx, hdr_max_line, hdr_max_col, hdr_max_pos;
    int header_seen, row_style;
    size_t s_file_name, s_version, s_title;

    /* result being built */
    mt_csv_meta meta;
    size_t n_ch;
    hcol *chs;     /* per channel: merged header facts */
    size_t *title; /* per channel: offset of the title cell copy */
    size_t *unit;
    mt_csv_kind *kinds;
    double *rowbuf; /* row-major */
    mt_time *times;
    size_t n_data, data_cap;
    int time_fmt_known;
} ctx;

/* ---- errors ----------------------------------------------------------- */

/* Fail at byte offset "at" of the current line. */
static mt_status fail_here(const ctx *c, mt_error *err, mt_status code, size_t at,
                           const char *fmt, ...) MT_PRINTF(5, 6);

static mt_status fail_here(const ctx *c, mt_error *err, mt_status code, size_t at,
                           const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0) {
        msg[0] = '\0';
    }
    va_end(ap);
    return mt_fail_at(err, code, at, c->line_no, at - c->line_start + 1, "%s", msg);
}

/* Fail at the end of the input (after the last line). */
static mt_status fail_eof(const ctx *c, mt_error *err, mt_status code, const char *msg)
{
    size_t line = c->line_no, col = c->len - c->line_start + 1;
    if (line == 0 || (c->len > c->body && (c->buf[c->len - 1] == '\n' ||
                                           c->buf[c->len - 1] == '\r'))) {
        line++;
        col = 1;
    }
    return mt_fail_at(err, code, c->len, line, col, "%s", msg);
}

/* ---- buffers ---------------------------------------------------------- */

/* Grow "*p" (elements of "size" bytes, capacity "*cap") to hold "need";
 * geometric, so total copying stays linear. */
static int grow(void *pp, size_t *cap, size_t need, size_t size)
{
    void **p = (void **)pp;
    size_t new_cap = *cap ? *cap : 16;
    void *q;
    if (need <= *cap) {
        return 1;
    }
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2) {
            return 0;
        }
        new_cap *= 2;
    }
    if (new_cap > SIZE_MAX / size) {
        return 0;
    }
    q = mt__realloc(*p, new_cap * size);
    if (!q) {
        return 0;
    }
    *p = q;
    *cap = new_cap;
    return 1;
}

/* Append "n" bytes and a NUL to the string buffer; *off is where they went. */
static int sb_add(ctx *c, const char *s, size_t n, size_t *off)
{
    if (n == 0) {
        *off = 0;
        return 1;
    }
    if (!grow(&c->sb, &c->sb_cap, c->sb_len + n + 1, 1)) {
        return 0;
    }
    memcpy(c->sb + c->sb_len, s, n);
    c->sb[c->sb_len + n] = '\0';
    *off = c->sb_len;
    c->sb_len += n + 1;
    return 1;
}

/* ---- cells ------------------------------------------------------------ */

static const char *cell_ptr(const ctx *c, const cell *k)
{
    return k->esc ? c->scratch + k->off : c->buf + k->off;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The content of cell "k" without surrounding blanks. */
static const char *cell_trim(const ctx *c, const cell *k, size_t *n)
{
    const char *p = cell_ptr(c, k);
    size_t len = k->len;
    while (len > 0 && is_space(*p)) {
        p++;
        len--;
    }
    while (len > 0 && is_space(p[len - 1])) {
        len--;
    }
    *n = len;
    return p;
}

static int cell_empty(const ctx *c, const cell *k)
{
    size_t n;
    (void)cell_trim(c, k, &n);
    return n == 0;
}

static char lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

/* "p" lowercased without spaces and underscores into "out" (cap 32);
 * empty when longer. */
static void norm_word(const char *p, size_t n, char *out)
{
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        if (p[i] == ' ' || p[i] == '_' || p[i] == '\t') {
            continue;
        }
        if (k >= 31) {
            k = 0;
            break;
        }
        out[k++] = lower(p[i]);
    }
    out[k] = '\0';
}

static int cell_key(const ctx *c, const cell *k)
{
    char w[32];
    size_t n, i;
    const char *p = cell_trim(c, k, &n);
    norm_word(p, n, w);
    for (i = 0; i < sizeof key_table / sizeof key_table[0]; i++) {
        if (strcmp(w, key_table[i].key) == 0) {
            return key_table[i].id;
        }
    }
    return K_NONE;
}

/* Read the next line into c->cells. At the end of input sets c->eof. Lines
 * end at "\n", "\r\n" or a lone "\r". Cells beyond c->cell_limit are not
 * stored; the first one's start is kept in c->extra_start. */
static mt_status read_record(ctx *c, mt_error *err)
{
    const char *b = c->buf;
    size_t i = c->off, len = c->len;
    char delim = c->delim;
    c->n_cells = 0;
    c->scratch_len = 0;
    c->extra_start = NO_POS;
    if (i >= len) {
        c->eof = 1;
        return MT_OK;
    }
    c->line_no++;
    c->line_start = i;
    for (;;) {
        cell k;
        k.start = i;
        k.quoted = 0;
        k.esc = 0;
        if (i < len && b[i] == '"') {
            size_t j = i + 1;
            k.quoted = 1;
            k.off = j;
            for (;;) {
                while (j < len && b[j] != '"' && b[j] != '\n' && b[j] != '\r') {
                    j++;
                }
                if (j >= len || b[j] != '"') {
                    return fail_here(c, err, MT_ESYNTAX, k.start, "unterminated quote");
                }
                if (j + 1 < len && b[j + 1] == '"') {
                    k.esc = 1;
                    j += 2;
                    continue;
                }
                break;
            }
            k.len = j - k.off;
            i = j + 1;
            while (i < len && b[i] == ' ') {
                i++;
            }
            if (i < len && b[i] != delim && b[i] != '\n' && b[i] != '\r') {
                return fail_here(c, err, MT_ESYNTAX, i, "unexpected character after a closing quote");
            }
            if (k.esc) {
                size_t s, d;
                if (!grow(&c->scratch, &c->scratch_cap, c->scratch_len + k.len, 1)) {
                    return mt_fail(err, MT_ENOMEM, i, "out of memory");
                }
                for (s = k.off, d = c->scratch_len; s < k.off + k.len; s++) {
                    c->scratch[d++] = b[s];
                    if (b[s] == '"') {
                        s++; /* the second quote of a "" pair */
                    }
                }
                k.off = c->scratch_len;
                k.len = d - c->scratch_len;
                c->scratch_len = d;
            }
        } else {
            k.off = i;
            while (i < len && b[i] != delim && b[i] != '\n' && b[i] != '\r') {
                i++;
            }
            k.len = i - k.off;
        }
        if (i - k.start > MT_CSV_MAX_FIELD) {
            return fail_here(c, err, MT_ELIMIT, k.start, "cell longer than %u bytes",
                             MT_CSV_MAX_FIELD);
        }
        if (i - c->line_start > MT_CSV_MAX_LINE) {
            return fail_here(c, err, MT_ELIMIT, c->line_start + MT_CSV_MAX_LINE,
                             "line longer than %u bytes", MT_CSV_MAX_LINE);
        }
        if (c->n_cells < c->cell_limit) {
            if (!grow(&c->cells, &c->cells_cap, c->n_cells + 1, sizeof(cell))) {
                return mt_fail(err, MT_ENOMEM, i, "out of memory");
            }
            c->cells[c->n_cells++] = k;
        } else if (c->extra_start == NO_POS) {
            c->extra_start = k.start;
        }
        if (i < len && b[i] == delim) {
            i++;
            continue;
        }
        break;
    }
    c->line_end = i;
    if (i < len && b[i] == '\r') {
        i++;
    }
    if (i < len && b[i] == '\n' && (i == c->line_end || b[i - 1] == '\r')) {
        i++;
    }
    c->off = i;
    return MT_OK;
}

/* A line with no content: one empty cell, or (in the header) all empty. */
static int record_blank(const ctx *c)
{
    size_t i;
    for (i = 0; i < c->n_cells; i++) {
        if (c->cells[i].quoted || !cell_empty(c, &c->cells[i])) {
            return 0;
        }
    }
    return c->extra_start == NO_POS;
}

/* Number of meaningful cells: a final empty unquoted cell is the trailing
 * delimiter HIOKI writes, not a cell. */
static size_t record_width(const ctx *c)
{
    size_t n = c->n_cells;
    if (n > 1 && !c->cells[n - 1].quoted && c->cells[n - 1].len == 0) {
        n--;
    }
    return n;
}

/* ---- numbers and values ----------------------------------------------- */

/* Parse cell text "p"/"n" (trimmed) as a number; check the decimal mark. */
static mt_status parse_number(ctx *c, const char *p, size_t n, size_t at, double *v,
                              mt_error *err)
{
    mt__dec d;
    if (n > MT_CSV_MAX_NUMBER) {
        return fail_here(c, err, MT_ELIMIT, at, "number longer than %u bytes", MT_CSV_MAX_NUMBER);
    }
    if (!mt__csv_scan_dec(p, n, c->allow_comma, &d)) {
        return fail_here(c, err, MT_ESYNTAX, at, "not a number: \"%.*s\"", (int)(n > 40 ? 40 : n), p);
    }
    if (d.mark) {
        if (!c->mark) {
            c->mark = d.mark;
        } else if (d.mark != c->mark) {
            return fail_here(c, err, MT_ESYNTAX, at, "decimal mark '%c' but the file uses '%c'",
                             d.mark, c->mark);
        }
    }
    *v = mt__csv_dec_to_double(&d, p, n);
    return MT_OK;
}

static int special_word(const char *p, size_t n, mt_sv *kind)
{
    char w[32];
    size_t i;
    if (n == 0) {
        *kind = MT_SV_MISSING;
        return 1;
    }
    norm_word(p, n, w);
    for (i = 0; i < sizeof sv_table / sizeof sv_table[0]; i++) {
        if (strcmp(w, sv_table[i].word) == 0) {
            *kind = sv_table[i].kind;
            return 1;
        }
    }
    return 0;
}

/* One data value of a channel of kind "kind". */
static mt_status parse_value(ctx *c, const cell *k, mt_csv_kind kind, double *out, mt_error *err)
{
    size_t n;
    const char *p = cell_trim(c, k, &n);
    mt_sv sv;
    double v = 0;
    mt_status st;
    const char *q;
    /* Numbers first: words are rare, and "-" alone is not a number. */
    q = n > 1 && (*p == '+' || *p == '-') ? p + 1 : p;
    if (n == 0 || !((*q >= '0' && *q <= '9') || *q == '.')) {
        if (special_word(p, n, &sv)) {
            *out = mt_sv_value(sv);
            return MT_OK;
        }
    }
    st = parse_number(c, p, n, k->start, &v, err);
    if (st != MT_OK) {
        return st;
    }
    if (v >= SENTINEL || v <= -SENTINEL) {
        *out = mt_sv_value(v > 0 ? MT_SV_OVER_POS : MT_SV_OVER_NEG);
        return MT_OK;
    }
    /* Range first: converting an out-of-range double to int64_t is undefined. */
    if (kind != MT_CSV_ANALOG && (v > 9007199254740992.0 || v < -9007199254740992.0 ||
                                  v != (double)(int64_t)v)) {
        return fail_here(c, err, MT_ESYNTAX, k->start, "not an integer: \"%.*s\"",
                         (int)(n > 40 ? 40 : n), p);
    }
    *out = v;
    return MT_OK;
}

/* ---- header ----------------------------------------------------------- */

/* The cell text without a leading apostrophe (Excel's text marker). */
static const char *strip_apos(const char *p, size_t *n)
{
    if (*n > 0 && *p == '\'') {
        p++;
        (*n)--;
        while (*n > 0 && is_space(*p)) {
            p++;
            (*n)--;
        }
    }
    return p;
}

static mt_status add_cell_string(ctx *c, const cell *k, size_t *off, mt_error *err)
{
    size_t n;
    const char *p = cell_trim(c, k, &n);
    if (!sb_add(c, p, n, off)) {
        return mt_fail(err, MT_ENOMEM, k->start, "out of memory");
    }
    return MT_OK;
}

static void hcol_init(hcol *h)
{
    memset(h, 0, sizeof *h);
    h->scaling = -1;
    h->ratio = 1.0;
    h->offset = 0.0;
}

/* Store one attribute (key "key") of header column "h" from cell "k". */
static mt_status set_attr(ctx *c, hcol *h, int key, const cell *k, mt_error *err)
{
    size_t n;
    const char *p = cell_trim(c, k, &n);
    char w[32];
    switch (key) {
    case K_CH:
        return add_cell_string(c, k, &h->name, err);
    case K_MODE:
        return add_cell_string(c, k, &h->mode, err);
    case K_RANGE:
        return add_cell_string(c, k, &h->range, err);
    case K_UNITID:
        return add_cell_string(c, k, &h->unit_id, err);
    case K_COMMENT:
        return add_cell_string(c, k, &h->comment, err);
    case K_SCALING:
        norm_word(p, n, w);
        if (n == 0) {
            h->scaling = -1;
        } else if (strcmp(w, "on") == 0) {
            h->scaling = 1;
        } else if (strcmp(w, "off") == 0) {
            h->scaling = 0;
        } else {
            return fail_here(c, err, MT_ESYNTAX, k->start, "Scaling must be On or Off");
        }
        return MT_OK;
    case K_RATIO:
        return n == 0 ? MT_OK : parse_number(c, p, n, k->start, &h->ratio, err);
    case K_OFFSET:
        return n == 0 ? MT_OK : parse_number(c, p, n, k->start, &h->offset, err);
    default:
        return MT_OK; /* an attribute we do not keep */
    }
}

/* A column-style key row: cell i (i >= 1) belongs to data column i. */
static mt_status header_column_row(ctx *c, int key, mt_error *err)
{
    size_t i, width = record_width(c);
    mt_status st;
    if (c->extra_start != NO_POS || width > c->max_ch + 1) {
        return fail_here(c, err, MT_ELIMIT, c->cells[c->max_ch + 1].start,
                         "more than %zu channels", c->max_ch);
    }
    for (i = 1; i < width; i++) {
        const cell *k = &c->cells[i];
        if (cell_empty(c, k)) {
            continue;
        }
        if (i > c->n_cols) {
            size_t j;
            if (!grow(&c->cols, &c->cols_cap, i, sizeof(hcol))) {
                return mt_fail(err, MT_ENOMEM, k->start, "out of memory");
            }
            for (j = c->n_cols; j < i; j++) {
                hcol_init(&c->cols[j]);
            }
            c->n_cols = i;
        }
        st = set_attr(c, &c->cols[i - 1], key, k, err);
        if (st != MT_OK) {
            return st;
        }
        if (i > c->hdr_max_idx) {
            c->hdr_max_idx = i;
            c->hdr_max_line = c->line_no;
            c->hdr_max_col = k->start - c->line_start + 1;
            c->hdr_max_pos = k->start;
        }
    }
    return MT_OK;
}

/* The row-style "Ch","Mode","Range",... line: remember what each cell holds. */
static mt_status header_row_style_keys(ctx *c, mt_error *err)
{
    size_t i, width = record_width(c);
    c->row_style = 1;
    mt__free(c->row_fields);
    c->row_fields = mt__malloc(width * sizeof(int));
    if (!c->row_fields) {
        return mt_fail(err, MT_ENOMEM, c->line_start, "out of memory");
    }
    for (i = 0; i < width; i++) {
        c->row_fields[i] = i == 0 ? K_CH : cell_key(c, &c->cells[i]);
    }
    c->n_row_fields = width;
    return MT_OK;
}

/* A row-style channel line: name, then the attributes named by "Ch" line. */
static mt_status header_channel_line(ctx *c, mt_error *err)
{
    size_t i, width = record_width(c);
    hcol *h;
    mt_status st;
    if (c->n_rows_h >= c->max_ch) {
        return fail_here(c, err, MT_ELIMIT, c->line_start, "more than %zu channels", c->max_ch);
    }
    if (!grow(&c->rows, &c->rows_cap, c->n_rows_h + 1, sizeof(hcol))) {
        return mt_fail(err, MT_ENOMEM, c->line_start, "out of memory");
    }
    h = &c->rows[c->n_rows_h++];
    hcol_init(h);
    for (i = 0; i < width && i < c->n_row_fields; i++) {
        st = set_attr(c, h, c->row_fields[i], &c->cells[i], err);
        if (st != MT_OK) {
            return st;
        }
    }
    if (width > c->n_row_fields) {
        return fail_here(c, err, MT_ESYNTAX, c->cells[c->n_row_fields].start,
                         "channel line has more cells than the \"Ch\" line (%zu)",
                         c->n_row_fields);
    }
    return MT_OK;
}

static mt_status header_trigger(ctx *c, mt_error *err)
{
    size_t n;
    const char *p;
    mt_time local;
    if (c->n_cells < 2) {
        return MT_OK;
    }
    p = cell_trim(c, &c->cells[1], &n);
    p = strip_apos(p, &n);
    if (n == 0) {
        return MT_OK;
    }
    if (!mt__csv_parse_datetime(p, n, &local)) {
        return fail_here(c, err, MT_ESYNTAX, c->cells[1].start,
                         "trigger time is not YY-MM-DD hh:mm:ss");
    }
    c->meta.has_trigger = 1;
    c->meta.trigger = local - (mt_time)c->utc_off_min * MT_US_PER_MIN;
    return MT_OK;
}

/* Whether the first cell looks like the start of a data row. */
static int looks_like_data(const ctx *c)
{
    size_t n;
    const char *p = cell_trim(c, &c->cells[0], &n);
    p = strip_apos(p, &n);
    if (n > 0 && (*p == '+' || *p == '-')) {
        p++;
        n--;
    }
    if (n > 0 && *p == '.') {
        p++;
        n--;
    }
    return n > 0 && *p >= '0' && *p <= '9';
}

/* Read header lines up to and including the title row. On return either
 * c->n_ch is set from the title row, or (bare data file) c->n_ch == 0 and the
 * current record is the first data row. */
static mt_status read_header(ctx *c, mt_error *err)
{
    mt_status st;
    for (;;) {
        int key;
        st = read_record(c, err);
        if (st != MT_OK) {
            return st;
        }
        if (c->eof) {
            if (c->header_seen) {
                return fail_eof(c, err, MT_EFORMAT, "header without a title row");
            }
            return fail_eof(c, err, MT_EFORMAT, "empty file: no title row and no data");
        }
        if (record_blank(c)) {
            continue;
        }
        key = cell_key(c, &c->cells[0]);
        if (key == K_TIME) {
            return MT_OK;
        }
        if (key == K_NONE && looks_like_data(c)) {
            if (c->header_seen) {
                return fail_here(c, err, MT_EFORMAT, c->line_start, "header without a title row");
            }
            return MT_OK;
        }
        c->header_seen = 1;
        switch (key) {
        case K_FILENAME:
            if (c->n_cells > 1) {
                st = add_cell_string(c, &c->cells[1], &c->s_file_name, err);
            }
            if (st == MT_OK && c->n_cells > 2) {
                st = add_cell_string(c, &c->cells[2], &c->s_version, err);
            }
            break;
        case K_TITLE:
            if (c->n_cells > 1) {
                st = add_cell_string(c, &c->cells[1], &c->s_title, err);
            }
            break;
        case K_TRIGGER:
            st = header_trigger(c, err);
            break;
        case K_CH:
            if (c->n_cells > 1 && cell_key(c, &c->cells[1]) != K_NONE &&
                cell_key(c, &c->cells[1]) != K_CH) {
                st = header_row_style_keys(c, err);
            } else {
                st = header_column_row(c, key, err);
            }
            break;
        case K_MODE:
        case K_RANGE:
        case K_UNITID:
        case K_COMMENT:
        case K_SCALING:
        case K_RATIO:
        case K_OFFSET:
            st = header_column_row(c, key, err);
            break;
        default:
            if (c->row_style) {
                st = header_channel_line(c, err);
            }
            break; /* unknown key rows (Sampling, Trigger point, ...) are skipped */
        }
        if (st != MT_OK) {
            return st;
        }
    }
}

/* ---- channels ----------------------------------------------------------- */

/* Channel names compared as header keys are: case, spaces, '_' and '-'
 * ignored, so that a title "CH1[mV]" finds the row-style line "CH-1". */
static int names_match(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < an && (a[i] == ' ' || a[i] == '_' || a[i] == '-')) {
            i++;
        }
        while (j < bn && (b[j] == ' ' || b[j] == '_' || b[j] == '-')) {
            j++;
        }
        if (i == an || j == bn) {
            return i == an && j == bn;
        }
        if (lower(a[i]) != lower(b[j])) {
            return 0;
        }
        i++;
        j++;
    }
}

static int has_prefix_ci(const char *p, size_t n, const char *prefix)
{
    char w[32];
    size_t i;
    norm_word(p, n, w);
    for (i = 0; prefix[i]; i++) {
        if (w[i] != prefix[i]) {
            return 0;
        }
    }
    return 1;
}

static mt_csv_kind channel_kind(const ctx *c, const hcol *h, const char *base, size_t base_n)
{
    const char *mode = c->sb + h->mode, *name = c->sb + h->name;
    char w[32];
    norm_word(base, base_n, w);
    if (strcmp(w, "event") == 0) {
        return MT_CSV_EVENT;
    }
    norm_word(mode, strlen(mode), w);
    if (strcmp(w, "logic") == 0 || strcmp(w, "alarm") == 0) {
        return MT_CSV_INTEGER;
    }
    if (has_prefix_ci(name, strlen(name), "logic") || has_prefix_ci(name, strlen(name), "alm") ||
        has_prefix_ci(name, strlen(name), "alarm") || has_prefix_ci(base, base_n, "logic") ||
        has_prefix_ci(base, base_n, "alm") || has_prefix_ci(base, base_n, "alarm")) {
        return MT_CSV_INTEGER;
    }
    return MT_CSV_ANALOG;
}

/* Fix the channel list from the current record: the title row when
 * "has_title", else the first data row (channels named by position). */
static mt_status setup_channels(ctx *c, int has_title, mt_error *err)
{
    size_t width = record_width(c), i;
    mt_status st;
    if (c->extra_start != NO_POS) {
        /* the cell limit is max_ch + 2, so cell max_ch + 1 exists */
        return fail_here(c, err, MT_ELIMIT, c->cells[c->max_ch + 1].start,
                         "more than %zu channels", c->max_ch);
    }
    if (width < 2) {
        return fail_here(c, err, MT_EFORMAT, c->line_end, "no channel columns after the time column");
    }
    c->n_ch = width - 1;
    if (c->n_ch > c->max_ch) {
        return fail_here(c, err, MT_ELIMIT, c->cells[c->max_ch + 1].start,
                         "more than %zu channels", c->max_ch);
    }
    if (c->hdr_max_idx > c->n_ch) {
        return mt_fail_at(err, MT_ESYNTAX, c->hdr_max_pos, c->hdr_max_line, c->hdr_max_col,
                          "header row has more columns than the title row (%zu)", c->n_ch);
    }
    c->chs = mt__calloc(c->n_ch, sizeof(hcol));
    c->title = mt__calloc(c->n_ch, sizeof(size_t));
    c->unit = mt__calloc(c->n_ch, sizeof(size_t));
    c->kinds = mt__calloc(c->n_ch, sizeof(mt_csv_kind));
    if (!c->chs || !c->title || !c->unit || !c->kinds) {
        return mt_fail(err, MT_ENOMEM, c->line_start, "out of memory");
    }
    for (i = 0; i < c->n_ch; i++) {
        hcol *h = &c->chs[i];
        const char *base = "";
        size_t base_n = 0;
        hcol_init(h);
        if (has_title) {
            const cell *k = &c->cells[i + 1];
            const char *p = cell_trim(c, k, &base_n);
            base = p;
            if (!sb_add(c, p, base_n, &c->title[i])) {
                return mt_fail(err, MT_ENOMEM, k->start, "out of memory");
            }
            if (base_n >= 2 && p[base_n - 1] == ']') {
                size_t lb = base_n - 1;
                while (lb > 0 && p[lb - 1] != '[') {
                    lb--;
                }
                if (lb > 0) {
                    if (!sb_add(c, p + lb, base_n - 1 - lb, &c->unit[i])) {
                        return mt_fail(err, MT_ENOMEM, k->start, "out of memory");
                    }
                    base_n = lb - 1;
                    while (base_n > 0 && is_space(p[base_n - 1])) {
                        base_n--;
                    }
                }
            }
        }
        if (!c->row_style && i < c->n_cols) {
            *h = c->cols[i];
        } else if (c->row_style) {
            size_t r;
            for (r = 0; r < c->n_rows_h; r++) {
                const char *rn = c->sb + c->rows[r].name;
                if (!c->rows[r].used && base_n > 0 && names_match(rn, strlen(rn), base, base_n)) {
                    break;
                }
            }
            if (r == c->n_rows_h && i < c->n_rows_h && !c->rows[i].used) {
                r = i;
            }
            if (r < c->n_rows_h) {
                c->rows[r].used = 1;
                *h = c->rows[r];
            }
        }
        if (h->name == 0) {
            if (base_n > 0) {
                st = sb_add(c, base, base_n, &h->name) ? MT_OK : MT_ENOMEM;
            } else {
                char tmp[32];
                int n = snprintf(tmp, sizeof tmp, "CH%zu", i + 1);
                st = sb_add(c, tmp, (size_t)(n > 0 ? n : 0), &h->name) ? MT_OK : MT_ENOMEM;
            }
            if (st != MT_OK) {
                return mt_fail(err, MT_ENOMEM, c->line_start, "out of memory");
            }
        }
        c->kinds[i] = channel_kind(c, h, base, base_n);
    }
    return MT_OK;
}

/* ---- data --------------------------------------------------------------- */

static mt_status parse_time(ctx *c, const cell *k, mt_time *t, mt_error *err)
{
    size_t n;
    const char *p = cell_trim(c, k, &n);
    mt_time rel = 0;
    p = strip_apos(p, &n);
    if (n == 0) {
        return fail_here(c, err, MT_ESYNTAX, k->start, "missing time");
    }
    if (!c->time_fmt_known) {
        mt_time probe;
        if (mt__csv_parse_datetime(p, n, &probe)) {
            c->meta.time_format = MT_CSV_TIME_ABSOLUTE;
        } else if (memchr(p, ':', n)) {
            c->meta.time_format = MT_CSV_TIME_CLOCK;
        } else {
            c->meta.time_format = MT_CSV_TIME_SECONDS;
        }
        c->time_fmt_known = 1;
    }
    switch (c->meta.time_format) {
    case MT_CSV_TIME_ABSOLUTE: {
        mt_time local;
        if (!mt__csv_parse_datetime(p, n, &local)) {
            return fail_here(c, err, MT_ESYNTAX, k->start, "not a date-time YY-MM-DD hh:mm:ss");
        }
        *t = local - (mt_time)c->utc_off_min * MT_US_PER_MIN;
        return MT_OK;
    }
    case MT_CSV_TIME_CLOCK:
        if (!mt__csv_parse_clock(p, n, &rel)) {
            return fail_here(c, err, MT_ESYNTAX, k->start, "not a relative time h:mm:ss");
        }
        break;
    case MT_CSV_TIME_SECONDS: {
        mt__dec d;
        if (n > MT_CSV_MAX_NUMBER) {
            return fail_here(c, err, MT_ELIMIT, k->start, "number longer than %u bytes",
                             MT_CSV_MAX_NUMBER);
        }
        if (!mt__csv_scan_dec(p, n, c->allow_comma, &d)) {
            return fail_here(c, err, MT_ESYNTAX, k->start, "not a time in seconds");
        }
        if (d.mark) {
            if (!c->mark) {
                c->mark = d.mark;
            } else if (d.mark != c->mark) {
                return fail_here(c, err, MT_ESYNTAX, k->start,
                                 "decimal mark '%c' but the file uses '%c'", d.mark, c->mark);
            }
        }
        if (!mt__csv_dec_to_us(&d, p, n, &rel)) {
            return fail_here(c, err, MT_ERANGE, k->start, "time out of range");
        }
        break;
    }
    }
    if (c->meta.has_trigger) {
        mt_time base = c->meta.trigger;
        if ((rel > 0 && base > INT64_MAX - rel) || (rel < 0 && base < INT64_MIN - rel)) {
            return fail_here(c, err, MT_ERANGE, k->start, "time out of range");
        }
        rel += base;
    }
    *t = rel;
    return MT_OK;
}

/* Parse data rows; "have_record" says the current record is the first one. */
static mt_status read_data(ctx *c, int have_record, mt_error *err)
{
    size_t n_ch = c->n_ch, j;
    mt_status st;
    c->cell_limit = n_ch + 2;
    for (;;) {
        size_t n;
        mt_time t = 0;
        double *row;
        if (!have_record) {
            st = read_record(c, err);
            if (st != MT_OK) {
                return st;
            }
            if (c->eof) {
                return MT_OK;
            }
        }
        have_record = 0;
        if (c->n_cells == 1 && !c->cells[0].quoted && cell_empty(c, &c->cells[0])) {
            continue; /* blank line */
        }
        n = c->n_cells;
        if (c->extra_start != NO_POS) {
            /* report the first cell that cannot be a trailing delimiter's */
            size_t at = c->cells[n - 1].len != 0 || c->cells[n - 1].quoted
                            ? c->cells[n - 1].start
                            : c->extra_start;
            return fail_here(c, err, MT_ESYNTAX, at, "too many cells (expected %zu)", n_ch + 1);
        }
        if (n == n_ch + 2) {
            if (c->cells[n - 1].quoted || c->cells[n - 1].len != 0) {
                return fail_here(c, err, MT_ESYNTAX, c->cells[n - 1].start,
                                 "too many cells (expected %zu)", n_ch + 1);
            }
            n--;
        }
        if (n < n_ch + 1) {
            return fail_here(c, err, MT_ESYNTAX, c->line_end, "too few cells: %zu of %zu", n,
                             n_ch + 1);
        }
        st = parse_time(c, &c->cells[0], &t, err);
        if (st != MT_OK) {
            return st;
        }
        if (c->n_data > 0 && t < c->times[c->n_data - 1]) {
            return fail_here(c, err, MT_EORDER, c->cells[0].start,
                             "time goes backwards from the previous row");
        }
        if (c->n_data == c->data_cap) {
            size_t cap = c->data_cap;
            if (cap > SIZE_MAX / 2 / sizeof(double) / n_ch) {
                return fail_here(c, err, MT_ELIMIT, c->line_start, "too many rows");
            }
            if (!grow(&c->times, &cap, c->n_data + 1, sizeof(mt_time))) {
                return mt_fail(err, MT_ENOMEM, c->line_start, "out of memory");
            }
            cap = c->data_cap;
            if (!grow(&c->rowbuf, &cap, c->n_data + 1, sizeof(double) * n_ch)) {
                return mt_fail(err, MT_ENOMEM, c->line_start, "out of memory");
            }
            c->data_cap = cap;
        }
        row = c->rowbuf + c->n_data * n_ch;
        for (j = 0; j < n_ch; j++) {
            st = parse_value(c, &c->cells[j + 1], c->kinds[j], &row[j], err);
            if (st != MT_OK) {
                return st;
            }
        }
        c->times[c->n_data++] = t;
    }
}

/* ---- entry points ------------------------------------------------------- */

/* Line and column of byte "pos" (used only for errors found before parsing). */
static void locate(const ctx *c, size_t pos, size_t *line, size_t *col)
{
    size_t i, ls = c->body;
    *line = 1;
    for (i = c->body; i < pos; i++) {
        if (c->buf[i] == '\n' || (c->buf[i] == '\r' && (i + 1 >= c->len || c->buf[i + 1] != '\n'))) {
            (*line)++;
            ls = i + 1;
        }
    }
    *col = pos - ls + 1;
}

static mt_status check_text(const ctx *c, mt_error *err)
{
    const char *nul = c->len > c->body ? memchr(c->buf + c->body, 0, c->len - c->body) : NULL;
    size_t i, end = c->len - c->body > CONTROL_SCAN ? c->body + CONTROL_SCAN : c->len;
    size_t bad = NO_POS, line, col;
    if (nul) {
        bad = (size_t)(nul - c->buf);
    }
    for (i = c->body; i < end && i < bad; i++) {
        unsigned char ch = (unsigned char)c->buf[i];
        if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' && ch != 0x1A) {
            bad = i;
            break;
        }
    }
    if (bad == NO_POS) {
        return MT_OK;
    }
    locate(c, bad, &line, &col);
    return mt_fail_at(err, MT_EFORMAT, bad, line, col,
                      "not a text export: binary byte 0x%02X", (unsigned char)c->buf[bad]);
}

/* The first non-blank line decides: tab, else ';', else ','. */
static char detect_delimiter(const ctx *c)
{
    size_t i = c->body, n_tab = 0, n_semi = 0;
    int in_quote = 0, seen = 0;
    for (; i < c->len; i++) {
        char ch = c->buf[i];
        if (ch == '"') {
            in_quote = !in_quote;
        } else if (!in_quote && ch == '\t') {
            n_tab++;
        } else if (!in_quote && ch == ';') {
            n_semi++;
        } else if (ch == '\n' || ch == '\r') {
            if (seen) {
                break;
            }
            in_quote = 0;
            continue;
        }
        if (ch != ' ' && ch != '\t') {
            seen = 1;
        }
    }
    return n_tab ? '\t' : n_semi ? ';' : ',';
}

static mt_status finish(ctx *c, mt_csv **out, mt_error *err)
{
    mt_csv *h = mt__calloc(1, sizeof *h);
    size_t i, r, n_ch = c->n_ch, n_rows = c->n_data;
    if (!h) {
        return mt_fail(err, MT_ENOMEM, 0, "out of memory");
    }
    h->channels = mt__calloc(n_ch, sizeof(mt_csv_channel));
    if (!h->channels) {
        mt_csv_free(h);
        return mt_fail(err, MT_ENOMEM, 0, "out of memory");
    }
    if (n_rows > 0) {
        h->values = mt__malloc(n_rows * n_ch * sizeof(double)); /* <= rowbuf's size */
        if (!h->values) {
            mt_csv_free(h);
            return mt_fail(err, MT_ENOMEM, 0, "out of memory");
        }
        for (r = 0; r < n_rows; r++) {
            const double *row = c->rowbuf + r * n_ch;
            for (i = 0; i < n_ch; i++) {
                h->values[i * n_rows + r] = row[i];
            }
        }
        h->times = c->times;
        c->times = NULL;
    }
    h->strings = c->sb;
    c->sb = NULL;
    h->n_ch = n_ch;
    h->n_rows = n_rows;
    h->meta = c->meta;
    h->meta.file_name = h->strings + c->s_file_name;
    h->meta.version = h->strings + c->s_version;
    h->meta.title = h->strings + c->s_title;
    for (i = 0; i < n_ch; i++) {
        const hcol *src = &c->chs[i];
        mt_csv_channel *ch = &h->channels[i];
        ch->name = h->strings + src->name;
        ch->title = h->strings + c->title[i];
        ch->unit = h->strings + c->unit[i];
        ch->mode = h->strings + src->mode;
        ch->range = h->strings + src->range;
        ch->unit_id = h->strings + src->unit_id;
        ch->comment = h->strings + src->comment;
        ch->scaling = src->scaling;
        ch->ratio = src->ratio;
        ch->offset = src->offset;
        ch->kind = c->kinds[i];
    }
    *out = h;
    return MT_OK;
}

mt_status mt_csv_read(const char *buf, size_t len, const mt_csv_options *opt, mt_csv **out,
                      mt_error *err)
{
    ctx c;
    mt_status st;
    int has_title;
    memset(&c, 0, sizeof c);
    mt_error_clear(err);
    if (!out) {
        return mt_fail(err, MT_EINVAL, 0, "out is NULL");
    }
    *out = NULL;
    if (!buf && len > 0) {
        return mt_fail(err, MT_EINVAL, 0, "buf is NULL");
    }
    c.buf = buf ? buf : "";
    c.len = buf ? len : 0;
    c.utc_off_min = opt ? opt->utc_offset_minutes : 0;
    if (c.utc_off_min < -18 * 60 || c.utc_off_min > 18 * 60) {
        return mt_fail(err, MT_EINVAL, 0, "UTC offset %d min is outside -1080..1080",
                       c.utc_off_min);
    }
    c.max_ch = opt && opt->max_channels > 0 && opt->max_channels < MT_CSV_MAX_CHANNELS
                   ? opt->max_channels
                   : MT_CSV_MAX_CHANNELS;
    if (c.len >= 3 && memcmp(c.buf, "\xEF\xBB\xBF", 3) == 0) {
        c.body = 3;
        c.meta.has_bom = 1;
    }
    c.off = c.body;
    st = check_text(&c, err);
    if (st != MT_OK) {
        goto out;
    }
    c.delim = detect_delimiter(&c);
    c.allow_comma = c.delim != ',';
    c.mark = c.delim == ',' ? '.' : 0;
    c.sb = mt__malloc(64);
    if (!c.sb) {
        st = mt_fail(err, MT_ENOMEM, 0, "out of memory");
        goto out;
    }
    c.sb_cap = 64;
    c.sb[0] = '\0';
    c.sb_len = 1;
    c.cell_limit = c.max_ch + 2;
    st = read_header(&c, err);
    if (st != MT_OK) {
        goto out;
    }
    has_title = cell_key(&c, &c.cells[0]) == K_TIME;
    st = setup_channels(&c, has_title, err);
    if (st != MT_OK) {
        goto out;
    }
    st = read_data(&c, !has_title, err);
    if (st != MT_OK) {
        goto out;
    }
    c.meta.style = c.row_style ? MT_CSV_STYLE_ROW
                   : c.header_seen ? MT_CSV_STYLE_COLUMN
                                   : MT_CSV_STYLE_BARE;
    c.meta.delimiter = c.delim;
    c.meta.decimal_mark = c.mark ? c.mark : '.';
    st = finish(&c, out, err);
out:
    mt__free(c.cells);
    mt__free(c.scratch);
    mt__free(c.sb);
    mt__free(c.cols);
    mt__free(c.rows);
    mt__free(c.row_fields);
    mt__free(c.chs);
    mt__free(c.title);
    mt__free(c.unit);
    mt__free(c.kinds);
    mt__free(c.rowbuf);
    mt__free(c.times);
    return st;
}

void mt_csv_free(mt_csv *csv)
{
    if (!csv) {
        return;
    }
    mt__free(csv->channels);
    mt__free(csv->times);
    mt__free(csv->values);
    mt__free(csv->strings);
    mt__free(csv);
}

const mt_csv_meta *mt_csv_meta_of(const mt_csv *csv)
{
    return &csv->meta;
}

size_t mt_csv_channel_count(const mt_csv *csv)
{
    return csv->n_ch;
}

const mt_csv_channel *mt_csv_channel_at(const mt_csv *csv, size_t i)
{
    return i < csv->n_ch ? &csv->channels[i] : NULL;
}

size_t mt_csv_row_count(const mt_csv *csv)
{
    return csv->n_rows;
}

const mt_time *mt_csv_times(const mt_csv *csv)
{
    return csv->times;
}

const double *mt_csv_values(const mt_csv *csv, size_t i)
{
    return i < csv->n_ch && csv->values ? csv->values + i * csv->n_rows : NULL;
}
