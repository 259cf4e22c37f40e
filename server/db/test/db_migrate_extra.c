/* The test build's set of migrations (metron-server-test only; the
 * production build links db_migrate_extra_off.c): the built-in ones, plus
 * with METRON_TEST_EXTRA_MIGRATIONS=DIR the files DIR/NNN_name.sql, whose
 * versions must be above the built-in ones. A test runs the same binary
 * with and without the variable to have a newer and an older release on
 * one database (tests/server/rolling.test.mjs). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_migrate.h"
#include "log.h"

#define EXTRA_MAX 16          /* files in the folder */
#define EXTRA_NAME_MAX 64     /* "NNN_name", without ".sql" */
#define EXTRA_BYTES_MAX 65536 /* one file */

typedef struct {
    int version;
    char name[EXTRA_NAME_MAX + 1];
} extra_file;

/* Whether "f" is NNN_lower_case.sql (embed_migrations.cmake's rule); its
 * version and its name without ".sql" in "out". */
static int parse_name(const char *f, extra_file *out)
{
    size_t n = strlen(f);
    if (n < 9 || n - 4 > EXTRA_NAME_MAX || strcmp(f + n - 4, ".sql") != 0 || f[3] != '_') {
        return -1;
    }
    for (size_t i = 0; i < n - 4; i++) {
        char c = f[i];
        int ok = i < 3 ? (c >= '0' && c <= '9')
                       : (i == 3 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
        if (!ok) {
            return -1;
        }
    }
    out->version = (f[0] - '0') * 100 + (f[1] - '0') * 10 + (f[2] - '0');
    memcpy(out->name, f, n - 4);
    out->name[n - 4] = '\0';
    return 0;
}

static int by_version(const void *a, const void *b)
{
    const extra_file *x = a;
    const extra_file *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* The text of "path" (NUL-terminated, at most EXTRA_BYTES_MAX bytes) in a
 * new buffer the caller owns, its length in *len; NULL on failure. */
static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;
    if (f == NULL || (buf = malloc(EXTRA_BYTES_MAX + 1)) == NULL) {
        goto fail;
    }
    n = fread(buf, 1, EXTRA_BYTES_MAX + 1, f);
    if (ferror(f) || n > EXTRA_BYTES_MAX || memchr(buf, '\0', n) != NULL) {
        goto fail;
    }
    buf[n] = '\0';
    *len = n;
    fclose(f);
    return buf;
fail:
    free(buf);
    if (f) {
        fclose(f);
    }
    return NULL;
}

int db_migrations_of_build(const db_migration **set, size_t *count, char *err, size_t err_cap)
{
    /* Kept for the life of the process: the runner's set. */
    static db_migration merged[512];
    static extra_file files[EXTRA_MAX];
    const char *dir = getenv("METRON_TEST_EXTRA_MIGRATIONS");
    int newest = db_migrations[db_migrations_count - 1].version;
    size_t n_files = 0;
    DIR *d;
    const struct dirent *e;

    *set = db_migrations;
    *count = db_migrations_count;
    if (dir == NULL || dir[0] == '\0') {
        return 0;
    }
    if (db_migrations_count + EXTRA_MAX > sizeof merged / sizeof merged[0]) {
        snprintf(err, err_cap, "METRON_TEST_EXTRA_MIGRATIONS: too many built-in migrations");
        return -1;
    }
    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_cap, "METRON_TEST_EXTRA_MIGRATIONS: cannot open the folder %s", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        extra_file f;
        if (e->d_name[0] == '.') {
            continue;
        }
        if (parse_name(e->d_name, &f) != 0 || f.version <= newest) {
            snprintf(err, err_cap,
                     "METRON_TEST_EXTRA_MIGRATIONS: %s is not NNN_lower_case.sql with NNN above "
                     "%d, the newest built-in migration",
                     e->d_name, newest);
            closedir(d);
            return -1;
        }
        if (n_files == EXTRA_MAX) {
            snprintf(err, err_cap, "METRON_TEST_EXTRA_MIGRATIONS: more than %d files in %s",
                     EXTRA_MAX, dir);
            closedir(d);
            return -1;
        }
        files[n_files++] = f;
    }
    closedir(d);
    qsort(files, n_files, sizeof files[0], by_version);
    memcpy(merged, db_migrations, db_migrations_count * sizeof merged[0]);
    for (size_t i = 0; i < n_files; i++) {
        char path[4096];
        size_t len = 0;
        char *sql;
        if (i > 0 && files[i].version == files[i - 1].version) {
            snprintf(err, err_cap, "METRON_TEST_EXTRA_MIGRATIONS: two files of version %d",
                     files[i].version);
            return -1;
        }
        snprintf(path, sizeof path, "%s/%s.sql", dir, files[i].name);
        sql = read_text(path, &len);
        if (sql == NULL) {
            snprintf(err, err_cap,
                     "METRON_TEST_EXTRA_MIGRATIONS: cannot read %s (at most %d bytes of text)",
                     path, EXTRA_BYTES_MAX);
            return -1;
        }
        merged[db_migrations_count + i] = (db_migration){files[i].version, files[i].name, sql, len};
    }
    *set = merged;
    *count = db_migrations_count + n_files;
    log_info("migrate: %zu test migration%s from METRON_TEST_EXTRA_MIGRATIONS", n_files,
             n_files == 1 ? "" : "s");
    return 0;
}
