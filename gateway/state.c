/* The saved state of a simulated gateway (see state.h). */
#define _POSIX_C_SOURCE 200809L
#include "state.h"
#include "errtext.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ----------------------------------------------------------- validators */

int gw_tag_valid(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++, n++) {
        if (!isalnum((unsigned char)*s)) {
            return 0;
        }
    }
    return n >= 1 && n <= GW_TAG_MAX;
}

int gw_key_valid(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++, n++) {
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-') {
            return 0;
        }
    }
    return n >= 1 && n <= GW_KEY_MAX;
}

int gw_firmware_valid(const char *s)
{
    int parts = 0;
    if (*s == 'V' || *s == 'v') {
        s++;
    }
    for (;;) {
        int digits = 0;
        while (isdigit((unsigned char)*s) && digits < 4) {
            s++;
            digits++;
        }
        if (digits == 0 || isdigit((unsigned char)*s) || ++parts > 4) {
            return 0;
        }
        if (*s == '\0') {
            return 1;
        }
        if (*s != '.') {
            return 0;
        }
        s++;
    }
}

int gw_text_valid(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            return 0;
        }
    }
    return n >= min && n <= max;
}

int gw_firmware_cmp(const char *a, const char *b)
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
            x = x < 100000000 ? x * 10 + (*a - '0') : x;
        }
        for (; isdigit((unsigned char)*b); b++) {
            y = y < 100000000 ? y * 10 + (*b - '0') : y;
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

/* --------------------------------------------------------------- files */

char *gw_read_file(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    char *buf;
    size_t got = 0;
    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        errno = EFBIG;
        return NULL;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (buf == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return buf;
}

int gw_write_file_atomic(const char *dir, const char *name, const char *data, size_t len,
                         int mode)
{
    char tmp[4096], path[4096];
    int fd, dfd, saved;
    size_t off = 0;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.tmp-%s", dir, name) >= sizeof tmp ||
        (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            saved = errno;
            close(fd);
            unlink(tmp);
            errno = saved;
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    /* The rename itself must survive a power cut too. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ------------------------------------------------------------- parsing */

/* The string member "name" of "o" into "out" ("cap" bytes) when present;
 * "need" makes it required. "check" validates it (NULL = printable text of
 * 0..cap-1 bytes). 0 or -1 with "err" naming "where.name". */
static int get_str(const cJSON *o, const char *name, bool need, char *out, size_t cap,
                   int (*check)(const char *), const char *where, char *err, size_t err_cap)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    if (m == NULL) {
        return need ? errtext_fail(err, err_cap, "%s.%s is missing", where, name) : 0;
    }
    if (!cJSON_IsString(m) || strlen(m->valuestring) >= cap ||
        (check != NULL ? !check(m->valuestring) : !gw_text_valid(m->valuestring, 0, cap - 1))) {
        return errtext_fail(err, err_cap, "%s.%s is not valid (at most %zu characters%s)", where,
                            name, cap - 1,
                            check != NULL ? " of the expected form" : ", no control characters");
    }
    memcpy(out, m->valuestring, strlen(m->valuestring) + 1);
    return 0;
}

static int model_text_valid(const char *s)
{
    return gw_text_valid(s, 1, GW_MODEL_MAX) && strchr(s, ' ') == NULL;
}

static int serial_text_valid(const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        if (*p <= ' ' || *p > '~') {
            return 0;
        }
    }
    return *s != '\0' && strlen(s) <= GW_SERIAL_MAX;
}

static int unit_text_valid(const char *s)
{
    return gw_text_valid(s, 0, GW_UNIT_MAX);
}

static int parse_channels(const cJSON *arr, gw_instrument *ins, const char *where, char *err,
                          size_t cap)
{
    const cJSON *c;
    size_t i = 0;
    char w[80];
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n < 1 || n > GW_CHANNELS_MAX) {
        return errtext_fail(err, cap, "%s.channels must be an array of 1 to %d channels", where,
                            GW_CHANNELS_MAX);
    }
    ins->ch = calloc((size_t)n, sizeof *ins->ch);
    if (ins->ch == NULL) {
        return errtext_fail(err, cap, "out of memory");
    }
    cJSON_ArrayForEach(c, arr) {
        gw_channel *ch = &ins->ch[i];
        char q[24] = "";
        int qi;
        snprintf(w, sizeof w, "%.40s.channels[%zu]", where, i);
        if (!cJSON_IsObject(c)) {
            return errtext_fail(err, cap, "%s must be an object", w);
        }
        if (get_str(c, "key", true, ch->key, sizeof ch->key, gw_key_valid, w, err, cap) != 0 ||
            get_str(c, "name", false, ch->name, sizeof ch->name, NULL, w, err, cap) != 0 ||
            get_str(c, "unit", false, ch->unit, sizeof ch->unit, unit_text_valid, w, err, cap) ||
            get_str(c, "q", false, q, sizeof q, NULL, w, err, cap) != 0) {
            return -1;
        }
        if (q[0] == '\0') {
            ch->q = gw_quantity_of(ch->unit, ch->name);
        } else if ((qi = gw_quantity_from_name(q)) < 0) {
            return errtext_fail(err, cap, "%s.q: '%s' is not a quantity", w, q);
        } else {
            ch->q = (gw_quantity)qi;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ins->ch[j].key, ch->key) == 0) {
                return errtext_fail(err, cap, "%s.key: '%s' appears twice", w, ch->key);
            }
        }
        i++;
        ins->n_ch = i;
    }
    return 0;
}

int gw_state_parse(const char *text, size_t len, gw_state *st, char *err, size_t cap)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    const cJSON *m, *arr, *it;
    int rc = -1, n;
    size_t i = 0;

    if (root == NULL) {
        size_t at = end != NULL && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        return errtext_fail(err, cap, "not JSON (at byte %zu)", at);
    }
    if (!cJSON_IsObject(root)) {
        errtext_fail(err, cap, "the state must be a JSON object");
        goto out;
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(m) || m->valuedouble != 1) {
        errtext_fail(err, cap, "version: this gateway reads version 1");
        goto out;
    }
    if (get_str(root, "server", false, st->server, sizeof st->server, NULL, "state", err, cap) ||
        get_str(root, "kind", true, st->kind, sizeof st->kind, NULL, "state", err, cap) ||
        get_str(root, "tag", true, st->tag, sizeof st->tag, gw_tag_valid, "state", err, cap)) {
        goto out;
    }
    if (!gw_kind_valid(st->kind)) {
        errtext_fail(err, cap, "state.kind must be one, cross or lr8450-direct");
        goto out;
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (m != NULL) {
        /* Seeds are written as strings: JSON numbers lose bits above 2^53. */
        char *e = NULL;
        if (!cJSON_IsString(m) || m->valuestring[0] < '0' || m->valuestring[0] > '9' ||
            strlen(m->valuestring) > 20) {
            errtext_fail(err, cap, "state.seed must be a decimal string");
            goto out;
        }
        errno = 0;
        st->seed = strtoull(m->valuestring, &e, 10);
        if (errno != 0 || *e != '\0') {
            errtext_fail(err, cap, "state.seed must be a decimal string below 2^64");
            goto out;
        }
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "interval_s");
    if (!cJSON_IsNumber(m) || m->valuedouble < 1 || m->valuedouble > 3600 ||
        m->valuedouble != (double)(int)m->valuedouble) {
        errtext_fail(err, cap, "state.interval_s must be a whole number of seconds, 1 to 3600");
        goto out;
    }
    st->interval_s = (int)m->valuedouble;
    arr = cJSON_GetObjectItemCaseSensitive(root, "instruments");
    n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n > GW_INSTRUMENTS_MAX) {
        errtext_fail(err, cap, "state.instruments must be an array of at most %d instruments",
                     GW_INSTRUMENTS_MAX);
        goto out;
    }
    st->ins = calloc(n > 0 ? (size_t)n : 1, sizeof *st->ins);
    if (st->ins == NULL) {
        errtext_fail(err, cap, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(it, arr) {
        gw_instrument *ins = &st->ins[i];
        char w[40];
        snprintf(w, sizeof w, "instruments[%zu]", i);
        st->n_ins = i + 1;
        if (!cJSON_IsObject(it)) {
            errtext_fail(err, cap, "%s must be an object", w);
            goto out;
        }
        if (get_str(it, "model", true, ins->model, sizeof ins->model, model_text_valid, w, err,
                    cap) ||
            get_str(it, "serial", true, ins->serial, sizeof ins->serial, serial_text_valid, w,
                    err, cap) ||
            get_str(it, "firmware", false, ins->firmware, sizeof ins->firmware, NULL, w, err,
                    cap) ||
            get_str(it, "name", false, ins->name, sizeof ins->name, NULL, w, err, cap)) {
            goto out;
        }
        if (ins->firmware[0] != '\0' && !gw_firmware_valid(ins->firmware)) {
            errtext_fail(err, cap, "%s.firmware must be a version such as V2.30", w);
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(st->ins[j].model, ins->model) == 0 &&
                strcmp(st->ins[j].serial, ins->serial) == 0) {
                errtext_fail(err, cap, "%s: model %s serial %s appears twice", w, ins->model,
                             ins->serial);
                goto out;
            }
        }
        if (parse_channels(cJSON_GetObjectItemCaseSensitive(it, "channels"), ins, w, err, cap)) {
            goto out;
        }
        i++;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

char *gw_state_print(const gw_state *st)
{
    cJSON *root = cJSON_CreateObject(), *arr;
    char seed[24];
    char *text = NULL;
    if (root == NULL) {
        return NULL;
    }
    snprintf(seed, sizeof seed, "%" PRIu64, st->seed);
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "server", st->server);
    cJSON_AddStringToObject(root, "kind", st->kind);
    cJSON_AddStringToObject(root, "tag", st->tag);
    cJSON_AddStringToObject(root, "seed", seed);
    cJSON_AddNumberToObject(root, "interval_s", st->interval_s);
    arr = cJSON_AddArrayToObject(root, "instruments");
    for (size_t i = 0; arr != NULL && i < st->n_ins; i++) {
        const gw_instrument *ins = &st->ins[i];
        cJSON *o = cJSON_CreateObject(), *chs;
        if (o == NULL) {
            goto out;
        }
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "model", ins->model);
        cJSON_AddStringToObject(o, "serial", ins->serial);
        cJSON_AddStringToObject(o, "firmware", ins->firmware);
        cJSON_AddStringToObject(o, "name", ins->name);
        chs = cJSON_AddArrayToObject(o, "channels");
        for (size_t c = 0; chs != NULL && c < ins->n_ch; c++) {
            cJSON *x = cJSON_CreateObject();
            if (x == NULL) {
                goto out;
            }
            cJSON_AddItemToArray(chs, x);
            cJSON_AddStringToObject(x, "key", ins->ch[c].key);
            cJSON_AddStringToObject(x, "name", ins->ch[c].name);
            cJSON_AddStringToObject(x, "unit", ins->ch[c].unit);
            cJSON_AddStringToObject(x, "q", gw_quantity_name(ins->ch[c].q));
        }
    }
    text = cJSON_Print(root);
out:
    cJSON_Delete(root);
    return text;
}

void gw_state_clear(gw_state *st)
{
    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->n_ins; i++) {
        gw_instrument_clear(&st->ins[i]);
    }
    free(st->ins);
    memset(st, 0, sizeof *st);
}

int gw_state_load(const char *dir, gw_state *st, char *err, size_t cap)
{
    char path[4096], sub[400];
    size_t len = 0;
    char *text;
    snprintf(path, sizeof path, "%s/gateway.json", dir);
    text = gw_read_file(path, GW_STATE_FILE_MAX, &len);
    if (text == NULL) {
        if (errno == ENOENT) {
            return 0;
        }
        return errtext_fail(err, cap, "%s: %s", path,
                            errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
    }
    if (gw_state_parse(text, len, st, sub, sizeof sub) != 0) {
        free(text);
        gw_state_clear(st);
        return errtext_fail(err, cap, "%s: %s", path, sub);
    }
    free(text);
    return 1;
}

int gw_state_save(const char *dir, const gw_state *st, char *err, size_t cap)
{
    char *text = gw_state_print(st);
    int rc;
    if (text == NULL) {
        return errtext_fail(err, cap, "out of memory");
    }
    rc = gw_write_file_atomic(dir, "gateway.json", text, strlen(text), 0600);
    free(text);
    if (rc != 0) {
        return errtext_fail(err, cap, "%s/gateway.json: %s", dir, strerror(errno));
    }
    return 0;
}
