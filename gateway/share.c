/* One shared-file or equipment-list request as the app makes it (see
 * share.h; K1-K4). */
#define _POSIX_C_SOURCE 200809L
#include "share.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "reply.h"
#include "state.h"

static const char *const kinds[] = {"battery-profiles", "battery-thresholds", "photo-templates",
                                    "equipment-lists", NULL};

static int say(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "metron-gateway: ");
    fprintf(stderr, fmt, a, b);
    fputs(" (--help for usage)\n", stderr);
    return 2;
}

/* "arg" split at its first ':' (and, for "two", its second) into the kind,
 * "rest" and "more". 0, or 1 after saying what is wrong. */
static int split(const char *arg, char *kind, size_t kcap, char *rest, size_t rcap, char *more,
                 size_t mcap)
{
    const char *c = arg != NULL ? strchr(arg, ':') : NULL;
    size_t n = c != NULL ? (size_t)(c - arg) : (arg != NULL ? strlen(arg) : 0);
    bool known = false;
    if (n == 0 || n >= kcap) {
        return say("expected a kind (%s%s)",
                   "battery-profiles, battery-thresholds, photo-templates or ", "equipment-lists");
    }
    memcpy(kind, arg, n);
    kind[n] = '\0';
    for (int i = 0; kinds[i] != NULL; i++) {
        known = known || strcmp(kinds[i], kind) == 0;
    }
    if (!known) {
        return say("%s is not a kind of shared thing (%s)", kind,
                   "battery-profiles, battery-thresholds, photo-templates, equipment-lists");
    }
    if (rest == NULL) {
        return c == NULL ? 0 : say("%s takes no value after the kind%s", kind, "");
    }
    if (c == NULL || c[1] == '\0') {
        return say("%s: a value is needed after the kind and a colon%s", kind, "");
    }
    c++;
    if (more != NULL) {
        const char *d = strchr(c, ':');
        if (d == NULL || d[1] == '\0' || (size_t)(d - c) >= rcap || strlen(d + 1) >= mcap) {
            return say("expected KIND:ID:FILE, not %s%s", arg, "");
        }
        memcpy(rest, c, (size_t)(d - c));
        rest[d - c] = '\0';
        snprintf(more, mcap, "%s", d + 1);
        return 0;
    }
    if (strlen(c) >= rcap) {
        return say("the value after %s: is too long%s", kind, "");
    }
    snprintf(rest, rcap, "%s", c);
    return 0;
}

/* "s" a positive decimal id. */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18 || s[0] == '0') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Percent-encode "s" into out (cap bytes); -1 when it does not fit. */
static int url_encode(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;
        if (n + 4 > cap) {
            return -1;
        }
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

/* The request, its answer printed; the exit status. */
static int share_send(gw_http *h, const char *method, const char *path, const char *ctype,
                const char *body, size_t len, int ok, const char *out, bool raw)
{
    gw_resp r;
    int rc;
    memset(&r, 0, sizeof r);
    if (gw_http_do(h, method, path, ctype, body, len, &r) != 0) {
        fprintf(stderr, "metron-gateway: the server did not answer: %s\n", r.err);
        gw_resp_clear(&r);
        return 4;
    }
    if (r.status != ok && !(ok == 201 && r.status == 200)) {
        char code[64], msg[512];
        gw_error_parse(r.body, r.len, code, sizeof code, msg, sizeof msg);
        fprintf(stderr, "metron-gateway: the server refused (HTTP %ld): %s\n", r.status,
                msg[0] != '\0' ? msg : "no reason given");
        gw_resp_clear(&r);
        return 3;
    }
    rc = 0;
    if (out != NULL) {
        FILE *f = fopen(out, "wb");
        if (f == NULL || fwrite(r.body, 1, r.len, f) != r.len || fclose(f) != 0) {
            fprintf(stderr, "metron-gateway: cannot write %s: %s\n", out, strerror(errno));
            rc = 1;
        }
    } else if (r.len > 0 && (fwrite(r.body, 1, r.len, stdout) != r.len ||
                             (!raw && r.body[r.len - 1] != '\n' && fputc('\n', stdout) == EOF))) {
        rc = 1;
    }
    gw_resp_clear(&r);
    return rc;
}

static char *read_local(const char *file, size_t *len)
{
    char *data = gw_read_file(file, GW_SHARE_FILE_MAX, len);
    if (data == NULL) {
        fprintf(stderr, "metron-gateway: cannot read %s: %s\n", file,
                errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
    }
    return data;
}

int gw_share_run(const gw_share_cmd *cmd, const char *server, const char *credential,
                 const char *cacert, long timeout_ms)
{
    char kind[32], v[4096], more[4096], path[8192], name[1024];
    const char *base = "/api/v1/ingest/app-share/";
    bool lists;
    gw_http *h;
    char *data = NULL;
    size_t len = 0;
    int rc = 1;

    switch (cmd->action) {
    case GW_SHARE_LIST:
        rc = split(cmd->arg, kind, sizeof kind, NULL, 0, NULL, 0);
        break;
    case GW_SHARE_EDIT:
        rc = split(cmd->arg, kind, sizeof kind, v, sizeof v, more, sizeof more);
        break;
    default:
        rc = split(cmd->arg, kind, sizeof kind, v, sizeof v, NULL, 0);
        break;
    }
    if (rc != 0) {
        return rc;
    }
    lists = strcmp(kind, "equipment-lists") == 0;
    if ((cmd->action == GW_SHARE_GET || cmd->action == GW_SHARE_CREATE ||
         cmd->action == GW_SHARE_EDIT) && !lists) {
        return say("%s: only equipment-lists are read, created or edited as lists%s", kind, "");
    }
    if ((cmd->action == GW_SHARE_UPLOAD || cmd->action == GW_SHARE_DOWNLOAD) && lists) {
        return say("%s are lists, not files: use --share-create, --share-get or --share-edit%s",
                   kind, "");
    }
    if ((cmd->action == GW_SHARE_GET || cmd->action == GW_SHARE_DOWNLOAD ||
         cmd->action == GW_SHARE_DELETE || cmd->action == GW_SHARE_EDIT) && !id_ok(v)) {
        return say("expected an id (a positive whole number) after %s:, not %s", kind, v);
    }
    if ((h = gw_http_new(server, cacert, timeout_ms)) == NULL) {
        fprintf(stderr, "metron-gateway: out of memory\n");
        return 1;
    }
    gw_http_set_credential(h, credential);
    switch (cmd->action) {
    case GW_SHARE_LIST:
        snprintf(path, sizeof path, "%s%s", base, kind);
        rc = share_send(h, "GET", path, NULL, NULL, 0, 200, NULL, false);
        break;
    case GW_SHARE_GET:
        snprintf(path, sizeof path, "%s%s/%s", base, kind, v);
        rc = share_send(h, "GET", path, NULL, NULL, 0, 200, NULL, false);
        break;
    case GW_SHARE_DELETE:
        snprintf(path, sizeof path, "%s%s/%s", base, kind, v);
        rc = share_send(h, "DELETE", path, NULL, NULL, 0, 200, NULL, false);
        break;
    case GW_SHARE_DOWNLOAD:
        snprintf(path, sizeof path, "%s%s/%s/content", base, kind, v);
        rc = share_send(h, "GET", path, NULL, NULL, 0, 200, cmd->out, true);
        break;
    case GW_SHARE_UPLOAD: {
        const char *n = cmd->name;
        if (n == NULL) {
            const char *slash = strrchr(v, '/');
            n = slash != NULL ? slash + 1 : v;
        }
        if ((data = read_local(v, &len)) == NULL) {
            rc = 1;
            break;
        }
        if (url_encode(n, name, sizeof name) != 0) {
            fprintf(stderr, "metron-gateway: the name is too long: %s\n", n);
            rc = 1;
            break;
        }
        snprintf(path, sizeof path, "%s%s?name=%s%s", base, kind, name,
                 cmd->replace ? "&replace=1" : "");
        rc = share_send(h, "POST", path, "application/octet-stream", data, len, 201, NULL, false);
        break;
    }
    case GW_SHARE_CREATE:
    case GW_SHARE_EDIT:
        if ((data = read_local(cmd->action == GW_SHARE_EDIT ? more : v, &len)) == NULL) {
            rc = 1;
            break;
        }
        if (cmd->action == GW_SHARE_EDIT) {
            snprintf(path, sizeof path, "%s%s/%s", base, kind, v);
            rc = share_send(h, "PATCH", path, "application/json", data, len, 200, NULL, false);
        } else {
            snprintf(path, sizeof path, "%s%s", base, kind);
            rc = share_send(h, "POST", path, "application/json", data, len, 201, NULL, false);
        }
        break;
    default:
        rc = 1;
        break;
    }
    free(data);
    gw_http_free(h);
    return rc;
}
