/* The gateway's spool of unsent batches (see spool.h). */
#define _POSIX_C_SOURCE 200809L
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

typedef struct {
    char *name;
    uint64_t size;
} entry;

struct gw_spool {
    char dir[4096];     /* STATE/spool */
    char refused[4096]; /* STATE/refused */
    entry *e;
    size_t n, cap;
    uint64_t bytes;
};

static int name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 7 || n > 64 || strcmp(name + n - 6, ".batch") != 0 || name[0] == '.') {
        return 0;
    }
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static int mkdir_p(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST) {
        return 0;
    }
    return -1;
}

/* Find "name": its index, or the index where it would go (*found false). */
static size_t find(const gw_spool *s, const char *name, int *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->e[mid].name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = 0;
    return lo;
}

static int grow(gw_spool *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        entry *e = realloc(s->e, cap * sizeof *e);
        if (e == NULL) {
            return -1;
        }
        s->e = e;
        s->cap = cap;
    }
    return 0;
}

int gw_spool_open(const char *dir, gw_spool **out, char *err, size_t cap)
{
    gw_spool *s = calloc(1, sizeof *s);
    DIR *d;
    struct dirent *de;
    *out = NULL;
    if (s == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    if ((size_t)snprintf(s->dir, sizeof s->dir, "%s/spool", dir) >= sizeof s->dir ||
        (size_t)snprintf(s->refused, sizeof s->refused, "%s/refused", dir) >= sizeof s->refused) {
        snprintf(err, cap, "the state folder's path is too long");
        free(s);
        return -1;
    }
    if (mkdir_p(s->dir) != 0 || mkdir_p(s->refused) != 0) {
        snprintf(err, cap, "%s: %s", s->dir, strerror(errno));
        free(s);
        return -1;
    }
    d = opendir(s->dir);
    if (d == NULL) {
        snprintf(err, cap, "%s: %s", s->dir, strerror(errno));
        free(s);
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char path[8192];
        struct stat sb;
        if (strncmp(de->d_name, ".tmp-", 5) == 0) {
            /* A write cut short by a crash: it was never listed. */
            snprintf(path, sizeof path, "%s/%s", s->dir, de->d_name);
            unlink(path);
            continue;
        }
        if (!name_valid(de->d_name)) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", s->dir, de->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            continue;
        }
        if (grow(s) != 0 || (s->e[s->n].name = strdup(de->d_name)) == NULL) {
            closedir(d);
            gw_spool_close(s);
            snprintf(err, cap, "out of memory");
            return -1;
        }
        s->e[s->n].size = (uint64_t)sb.st_size;
        s->bytes += (uint64_t)sb.st_size;
        s->n++;
    }
    closedir(d);
    if (s->n > 1) {
        qsort(s->e, s->n, sizeof *s->e, cmp_entry);
    }
    *out = s;
    return 0;
}

void gw_spool_close(gw_spool *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].name);
    }
    free(s->e);
    free(s);
}

int gw_spool_put(gw_spool *s, const char *name, const char *data, size_t len, char *err,
                 size_t cap)
{
    int found;
    size_t at;
    char *copy;
    if (!name_valid(name)) {
        snprintf(err, cap, "'%.70s' is not a spool file name", name);
        return -1;
    }
    if (gw_write_file_atomic(s->dir, name, data, len, 0600) != 0) {
        snprintf(err, cap, "%s/%s: %s", s->dir, name, strerror(errno));
        return -1;
    }
    at = find(s, name, &found);
    if (found) {
        s->bytes = s->bytes - s->e[at].size + len;
        s->e[at].size = len;
        return 0;
    }
    if (grow(s) != 0 || (copy = strdup(name)) == NULL) {
        /* On disk but not listed: the next start lists it. */
        snprintf(err, cap, "out of memory");
        return -1;
    }
    memmove(&s->e[at + 1], &s->e[at], (s->n - at) * sizeof *s->e);
    s->e[at].name = copy;
    s->e[at].size = len;
    s->bytes += len;
    s->n++;
    return 0;
}

size_t gw_spool_count(const gw_spool *s)
{
    return s->n;
}

uint64_t gw_spool_bytes(const gw_spool *s)
{
    return s->bytes;
}

const char *gw_spool_name(const gw_spool *s, size_t i)
{
    return i < s->n ? s->e[i].name : NULL;
}

char *gw_spool_read(const gw_spool *s, const char *name, size_t *len, char *err, size_t cap)
{
    char path[8192];
    char *text;
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    text = gw_read_file(path, GW_SPOOL_FILE_MAX, len);
    if (text == NULL) {
        snprintf(err, cap, "%s: %s", path, errno == EFBIG ? "too large" : strerror(errno));
    }
    return text;
}

static void unlist(gw_spool *s, const char *name)
{
    int found;
    size_t at = find(s, name, &found);
    if (found) {
        s->bytes -= s->e[at].size;
        free(s->e[at].name);
        memmove(&s->e[at], &s->e[at + 1], (s->n - at - 1) * sizeof *s->e);
        s->n--;
    }
}

int gw_spool_drop(gw_spool *s, const char *name)
{
    char path[8192];
    int rc;
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    rc = unlink(path);
    if (rc != 0 && errno == ENOENT) {
        rc = 0;
    }
    if (rc == 0) {
        unlist(s, name);
    }
    return rc;
}

int gw_spool_refuse(gw_spool *s, const char *name, const char *why)
{
    char from[8192], to[8192], why_name[128];
    snprintf(from, sizeof from, "%s/%s", s->dir, name);
    snprintf(to, sizeof to, "%s/%s", s->refused, name);
    snprintf(why_name, sizeof why_name, "%s.why", name);
    gw_write_file_atomic(s->refused, why_name, why, strlen(why), 0600);
    if (rename(from, to) != 0 && errno != ENOENT) {
        return -1;
    }
    unlist(s, name);
    return 0;
}
