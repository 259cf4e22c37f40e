/* Exports: HOK and HOK2 files, written by core's streaming writer one chunk
 * at a time, with the metadata the channels share (svc_export_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "mt/hok.h"
#include "svc_export_internal.h"

/* Copy "s" into "out" (cap bytes), cut at a UTF-8 character boundary. */
static void utf8_cut(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

typedef struct {
    FILE *f;
    run_ctx *x;
} hok_sink_ctx;

static mt_status hok_sink(void *ctx, const uint8_t *bytes, size_t len, mt_error *err)
{
    hok_sink_ctx *k = ctx;
    if (fwrite(bytes, 1, len, k->f) != len) {
        return mt_fail(err, MT_ENOSPACE, 0, "write: %s", strerror(errno));
    }
    k->x->bytes += (long long)len;
    return MT_OK;
}

/* The one value all device channels share for a metadata field, else "". */
static void common(const run_ctx *x, size_t field, char *out, size_t cap)
{
    const char *v = NULL;
    out[0] = '\0';
    for (size_t i = 0; i < x->n_chs; i++) {
        const db_export_channel *ch = &x->chs[i];
        const char *s = field == 0 ? ch->app_name : field == 1 ? ch->serial : ch->model;
        if (ch->computed) {
            continue;
        }
        if (v != NULL && strcmp(v, s) != 0) {
            return;
        }
        v = s;
    }
    if (v != NULL) {
        utf8_cut(v, out, cap);
    }
}

int export_write_hok(run_ctx *x, const char *tmp)
{
    mt_hok_opts opts = {x->j->fmt == FMT_HOK ? MT_HOK_V1 : MT_HOK_V2, 0};
    mt_hok_channel hch[EXPORT_MAX_CHANNELS];
    char names[EXPORT_MAX_CHANNELS][MT_HOK_MAX_STR], units[EXPORT_MAX_CHANNELS][MT_HOK_MAX_STR];
    char title[MT_HOK_MAX_STR], app[MT_HOK_MAX_STR], device[MT_HOK_MAX_STR], model[MT_HOK_MAX_STR];
    mt_hok_meta meta;
    mt_hok_writer *w = NULL;
    mt_error err;
    hok_sink_ctx sink = {NULL, x};
    rowset r = {0};
    int fd, rc = -1;

    /* The file's title in the asker's language, as README.txt's first line. */
    snprintf(title, sizeof title, export_words_of(x->lang)->title, x->j->id);
    common(x, 0, app, sizeof app);
    common(x, 1, device, sizeof device);
    common(x, 2, model, sizeof model);
    meta.title = title;
    meta.app = app;
    meta.device = device;
    meta.model = model;
    meta.timezone = x->tz.name;
    meta.created = auth_now() * MT_US_PER_S;
    for (size_t i = 0; i < x->n_chs; i++) {
        utf8_cut(x->chs[i].name, names[i], sizeof names[i]);
        utf8_cut(x->chs[i].unit, units[i], sizeof units[i]);
        hch[i].id = x->chs[i].id;
        hch[i].name = names[i];
        hch[i].unit = units[i];
        hch[i].kind = x->chs[i].computed ? MT_HOK_COMPUTED : MT_HOK_MEASURED;
        hch[i].model = x->chs[i].computed ? "" : x->chs[i].model;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || (sink.f = fdopen(fd, "wb")) == NULL) {
        export_run_fail(x, "cannot write the file: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (mt_hok_writer_new(&opts, &meta, hch, x->n_chs, hok_sink, &sink, &w, &err) != MT_OK) {
        export_run_fail(x, "HOK writer: %s", err.msg);
        goto out;
    }
    for (int64_t k = 0; k < x->n_chunks; k++) {
        const double *cols[EXPORT_MAX_CHANNELS];
        if (export_read_chunk(x, x->j->ch, x->n_chs, k, false, &r) != 0) {
            goto out;
        }
        for (size_t c = 0; c < x->n_chs; c++) {
            cols[c] = r.v + c * r.n_rows;
        }
        if (r.n_rows > 0 && mt_hok_writer_append(w, r.t, cols, r.n_rows, &err) != MT_OK) {
            export_run_fail(x, "HOK writer: %s", err.msg);
            goto out;
        }
        if (!export_run_step(x)) {
            goto out;
        }
    }
    if (mt_hok_writer_finish(w, &err) != MT_OK) {
        export_run_fail(x, "HOK writer: %s", err.msg);
        goto out;
    }
    if (fflush(sink.f) != 0 || fsync(fileno(sink.f)) != 0) {
        export_run_fail(x, "cannot write the file: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    export_rowset_free(&r);
    mt_hok_writer_free(w);
    if (fclose(sink.f) != 0 && rc == 0) {
        export_run_fail(x, "cannot write the file: %s", strerror(errno));
        rc = -1;
    }
    return rc;
}
