/* bench_files: where file bytes should live (issue #17, docs/storage.md
 * "Files"): on the server's disk as before, as chunked rows of a table, or
 * as PostgreSQL large objects. For one file of --mb megabytes it measures,
 * per layout:
 *   - upload: the bytes arrive in 64 KiB pieces (as an HTTP body is read);
 *     disk: write() then fsync() (the old upload path); rows: buffered to
 *     the chunk size, each chunk INSERTed in its own transaction with
 *     synchronous_commit off, then one durable commit that marks the file
 *     complete (a client that is slow never holds a pooled connection);
 *     large objects: lo_put() per chunk likewise;
 *   - the WAL written by the upload;
 *   - download: the whole file in chunk-size reads (disk: 256 KiB read()s;
 *     rows: one SELECT per chunk, binary; large objects: lo_get());
 *   - ranges: --ranges reads of 64 KiB at random offsets (resumed downloads),
 *     median latency;
 *   - the bytes on disk (pg_total_relation_size of the table, or of
 *     pg_largeobject and its index) and the time to delete the file.
 * Every byte read back is compared with what was written.
 *
 * Usage: bench_files CONNINFO DIR [--mb N] [--ranges N] [--repeats N]
 *                     [--layouts disk,rows256k,rows1m,rows4m,rowslz4,lo] [--text]
 * DIR is a folder on the disk the server's data folder would be on. The
 * program creates its tables in the connected database and drops them. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PIECE (64 * 1024)       /* an HTTP body read */
#define DISK_READ (256 * 1024)  /* the old download's read size */
#define RANGE_LEN (64 * 1024)

typedef struct {
    const char *name;
    char kind;        /* 'd' disk, 'r' rows, 'l' large object */
    int chunk;        /* bytes per row / per lo_put */
    const char *storage; /* rows: "EXTERNAL" or "EXTENDED" (lz4) */
} layout;

static const layout all_layouts[] = {
    {"disk", 'd', DISK_READ, NULL},
    {"rows256k", 'r', 256 * 1024, "EXTERNAL"},
    {"rows1m", 'r', 1024 * 1024, "EXTERNAL"},
    {"rows4m", 'r', 4 * 1024 * 1024, "EXTERNAL"},
    {"rowslz4", 'r', 1024 * 1024, "EXTENDED"},
    {"lo", 'l', 1024 * 1024, NULL},
};
#define N_LAYOUTS (sizeof all_layouts / sizeof all_layouts[0])

typedef struct {
    double up_s, down_s, range_ms, del_s;
    long long wal, disk;
} result;

static PGconn *pg;
static unsigned char *data;
static size_t size;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_files: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        die("%s: %s", sql, PQerrorMessage(pg));
    }
    PQclear(r);
}

static long long query_ll(const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    long long v;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        die("%s: %s", sql, PQerrorMessage(pg));
    }
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static long long wal_lsn(void)
{
    return query_ll("SELECT pg_current_wal_lsn() - '0/0'");
}

/* Run a prepared statement with text parameters except "bin" (index, or -1)
 * which is binary: "bin_ptr"/"bin_len". Binary results when "binres". */
static PGresult *run(const char *stmt, int n, const char *const *p, int bin, const void *bin_ptr,
                     int bin_len, int binres, ExecStatusType want)
{
    const char *vals[8];
    int lens[8] = {0}, fmts[8] = {0};
    PGresult *r;
    for (int i = 0; i < n; i++) {
        vals[i] = p[i];
    }
    if (bin >= 0) {
        vals[bin] = bin_ptr;
        lens[bin] = bin_len;
        fmts[bin] = 1;
    }
    r = PQexecPrepared(pg, stmt, n, vals, lens, fmts, binres);
    if (PQresultStatus(r) != want) {
        die("%s: %s", stmt, PQerrorMessage(pg));
    }
    return r;
}

static void prepare(const char *name, const char *sql)
{
    PGresult *r = PQprepare(pg, name, sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        die("prepare %s: %s", name, PQerrorMessage(pg));
    }
    PQclear(r);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random bytes (a HOK2 file or a ZIP compresses no further), or with
 * "text" the lines of a logger's CSV export (compressible about 4:1). */
static void fill(int text)
{
    if (!text) {
        for (size_t i = 0; i + 8 <= size; i += 8) {
            uint64_t v = next_rand();
            memcpy(data + i, &v, 8);
        }
        return;
    }
    size_t off = 0;
    long row = 0;
    while (off < size) {
        char line[160];
        int n = snprintf(line, sizeof line, "2024-05-01 %02ld:%02ld:%02ld,%.2f,%.2f,%.3f,%.1f\r\n",
                         (row / 3600) % 24, (row / 60) % 60, row % 60,
                         20 + (double)(next_rand() % 1000) / 100.0,
                         55 + (double)(next_rand() % 2000) / 100.0,
                         (double)(next_rand() % 100000) / 1000.0,
                         230 + (double)(next_rand() % 100) / 10.0);
        size_t k = (size_t)n < size - off ? (size_t)n : size - off;
        memcpy(data + off, line, k);
        off += k;
        row++;
    }
}

/* ---- disk ----------------------------------------------------------------- */

static void bench_disk(const char *dir, long ranges, result *res)
{
    char path[4096];
    unsigned char *buf = malloc(DISK_READ);
    double t0;
    int fd;
    snprintf(path, sizeof path, "%s/bench-file", dir);
    t0 = now_s();
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        die("%s: %s", path, strerror(errno));
    }
    for (size_t off = 0; off < size; off += PIECE) {
        size_t k = size - off < PIECE ? size - off : PIECE;
        if (write(fd, data + off, k) != (ssize_t)k) {
            die("write: %s", strerror(errno));
        }
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        die("fsync: %s", strerror(errno));
    }
    res->up_s = now_s() - t0;
    res->wal = 0;

    t0 = now_s();
    fd = open(path, O_RDONLY);
    for (size_t off = 0; off < size;) {
        ssize_t got = read(fd, buf, DISK_READ);
        if (got <= 0 || memcmp(buf, data + off, (size_t)got) != 0) {
            die("disk read differs at %zu", off);
        }
        off += (size_t)got;
    }
    res->down_s = now_s() - t0;

    t0 = now_s();
    for (long i = 0; i < ranges; i++) {
        off_t off = (off_t)(next_rand() % (size - RANGE_LEN));
        if (pread(fd, buf, RANGE_LEN, off) != RANGE_LEN ||
            memcmp(buf, data + off, RANGE_LEN) != 0) {
            die("disk range differs");
        }
    }
    res->range_ms = ranges > 0 ? (now_s() - t0) * 1000 / (double)ranges : 0;
    close(fd);
    res->disk = (long long)size;
    t0 = now_s();
    unlink(path);
    res->del_s = now_s() - t0;
    free(buf);
}

/* ---- chunked rows ------------------------------------------------------- */

static void bench_rows(const layout *l, long ranges, result *res)
{
    char sql[1024], seq[16], sz[24], off[24], len[24];
    const char *p[4];
    unsigned char *buf = malloc((size_t)l->chunk);
    size_t fill_n = 0;
    int n_chunks = 0;
    long long w0;
    double t0;

    exec_ok("DROP TABLE IF EXISTS bench_blob");
    exec_ok("DROP TABLE IF EXISTS bench_chunk");
    exec_ok("CREATE TABLE bench_blob (id bigint PRIMARY KEY, state text NOT NULL, size bigint)");
    exec_ok("CREATE TABLE bench_chunk (blob_id bigint NOT NULL REFERENCES bench_blob ON DELETE "
            "CASCADE, seq integer NOT NULL, data bytea NOT NULL, PRIMARY KEY (blob_id, seq))");
    snprintf(sql, sizeof sql, "ALTER TABLE bench_chunk ALTER COLUMN data SET STORAGE %s",
             l->storage);
    exec_ok(sql);
    if (strcmp(l->storage, "EXTENDED") == 0) {
        exec_ok("ALTER TABLE bench_chunk ALTER COLUMN data SET COMPRESSION lz4");
    }
    exec_ok("DEALLOCATE ALL");
    prepare("put", "INSERT INTO bench_chunk (blob_id, seq, data) VALUES (1, $1, $2)");
    prepare("async", "SELECT set_config('synchronous_commit', 'off', true)");
    prepare("ready", "UPDATE bench_blob SET state = 'ready', size = $1 WHERE id = 1");
    prepare("get", "SELECT data FROM bench_chunk WHERE blob_id = 1 AND seq = $1");
    prepare("part", "SELECT substring(data FROM $2 FOR $3) FROM bench_chunk WHERE blob_id = 1 "
                    "AND seq = $1");
    exec_ok("CHECKPOINT");

    w0 = wal_lsn();
    t0 = now_s();
    exec_ok("INSERT INTO bench_blob VALUES (1, 'writing', 0)");
    for (size_t o = 0; o < size || fill_n > 0;) {
        if (o < size) {
            size_t k = size - o < PIECE ? size - o : PIECE;
            if (k > (size_t)l->chunk - fill_n) {
                k = (size_t)l->chunk - fill_n;
            }
            memcpy(buf + fill_n, data + o, k);
            fill_n += k;
            o += k;
        }
        if (fill_n == (size_t)l->chunk || (o >= size && fill_n > 0)) {
            snprintf(seq, sizeof seq, "%d", n_chunks++);
            p[0] = seq;
            exec_ok("BEGIN");
            PQclear(run("async", 0, p, -1, NULL, 0, 0, PGRES_TUPLES_OK));
            PQclear(run("put", 2, p, 1, buf, (int)fill_n, 0, PGRES_COMMAND_OK));
            exec_ok("COMMIT");
            fill_n = 0;
        }
    }
    snprintf(sz, sizeof sz, "%zu", size);
    p[0] = sz;
    PQclear(run("ready", 1, p, -1, NULL, 0, 0, PGRES_COMMAND_OK)); /* durable commit */
    res->up_s = now_s() - t0;
    res->wal = wal_lsn() - w0;

    t0 = now_s();
    for (int i = 0; i < n_chunks; i++) {
        PGresult *r;
        size_t at = (size_t)i * (size_t)l->chunk;
        snprintf(seq, sizeof seq, "%d", i);
        p[0] = seq;
        r = run("get", 1, p, -1, NULL, 0, 1, PGRES_TUPLES_OK);
        if (PQntuples(r) != 1 ||
            memcmp(PQgetvalue(r, 0, 0), data + at, (size_t)PQgetlength(r, 0, 0)) != 0) {
            die("%s: chunk %d differs", l->name, i);
        }
        PQclear(r);
    }
    res->down_s = now_s() - t0;

    t0 = now_s();
    for (long i = 0; i < ranges; i++) {
        size_t at = (size_t)(next_rand() % (size - RANGE_LEN));
        size_t done = 0;
        /* A range may span two chunks. */
        while (done < RANGE_LEN) {
            size_t pos = at + done, in = pos % (size_t)l->chunk;
            size_t k = (size_t)l->chunk - in < RANGE_LEN - done ? (size_t)l->chunk - in
                                                                 : RANGE_LEN - done;
            PGresult *r;
            snprintf(seq, sizeof seq, "%zu", pos / (size_t)l->chunk);
            snprintf(off, sizeof off, "%zu", in + 1);
            snprintf(len, sizeof len, "%zu", k);
            p[0] = seq;
            p[1] = off;
            p[2] = len;
            r = run("part", 3, p, -1, NULL, 0, 1, PGRES_TUPLES_OK);
            if (PQntuples(r) != 1 || (size_t)PQgetlength(r, 0, 0) != k ||
                memcmp(PQgetvalue(r, 0, 0), data + pos, k) != 0) {
                die("%s: range differs", l->name);
            }
            PQclear(r);
            done += k;
        }
    }
    res->range_ms = ranges > 0 ? (now_s() - t0) * 1000 / (double)ranges : 0;
    exec_ok("VACUUM ANALYZE bench_chunk");
    res->disk = query_ll("SELECT pg_total_relation_size('bench_chunk')");
    t0 = now_s();
    exec_ok("DELETE FROM bench_blob WHERE id = 1");
    res->del_s = now_s() - t0;
    exec_ok("DROP TABLE bench_chunk");
    exec_ok("DROP TABLE bench_blob");
    free(buf);
}

/* ---- large objects ------------------------------------------------------ */

static void bench_lo(const layout *l, long ranges, result *res)
{
    char oid[24], off[24], len[24];
    const char *p[3];
    long long w0, before;
    double t0;

    exec_ok("DROP TABLE IF EXISTS bench_lo_meta");
    exec_ok("CREATE TABLE bench_lo_meta (state text)");
    exec_ok("INSERT INTO bench_lo_meta VALUES ('writing')");
    exec_ok("DEALLOCATE ALL");
    prepare("create", "SELECT lo_create(0)");
    prepare("async", "SELECT set_config('synchronous_commit', 'off', true)");
    prepare("put", "SELECT lo_put($1::oid, $2::bigint, $3)");
    prepare("get", "SELECT lo_get($1::oid, $2::bigint, $3::int)");
    prepare("unlink", "SELECT lo_unlink($1::oid)");
    exec_ok("VACUUM pg_largeobject");
    before = query_ll("SELECT pg_total_relation_size('pg_largeobject')");
    exec_ok("CHECKPOINT");

    w0 = wal_lsn();
    t0 = now_s();
    {
        PGresult *r = run("create", 0, p, -1, NULL, 0, 0, PGRES_TUPLES_OK);
        snprintf(oid, sizeof oid, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    for (size_t o = 0; o < size; o += (size_t)l->chunk) {
        size_t k = size - o < (size_t)l->chunk ? size - o : (size_t)l->chunk;
        snprintf(off, sizeof off, "%zu", o);
        p[0] = oid;
        p[1] = off;
        exec_ok("BEGIN");
        PQclear(run("async", 0, p, -1, NULL, 0, 0, PGRES_TUPLES_OK));
        PQclear(run("put", 3, p, 2, data + o, (int)k, 0, PGRES_TUPLES_OK));
        exec_ok("COMMIT");
    }
    /* The durable commit that records the file, as the rows' "ready". */
    exec_ok("UPDATE bench_lo_meta SET state = 'ready'");
    res->up_s = now_s() - t0;
    res->wal = wal_lsn() - w0;

    t0 = now_s();
    for (size_t o = 0; o < size; o += (size_t)l->chunk) {
        size_t k = size - o < (size_t)l->chunk ? size - o : (size_t)l->chunk;
        PGresult *r;
        snprintf(off, sizeof off, "%zu", o);
        snprintf(len, sizeof len, "%zu", k);
        p[0] = oid;
        p[1] = off;
        p[2] = len;
        r = run("get", 3, p, -1, NULL, 0, 1, PGRES_TUPLES_OK);
        if ((size_t)PQgetlength(r, 0, 0) != k || memcmp(PQgetvalue(r, 0, 0), data + o, k) != 0) {
            die("lo: bytes differ at %zu", o);
        }
        PQclear(r);
    }
    res->down_s = now_s() - t0;

    t0 = now_s();
    for (long i = 0; i < ranges; i++) {
        size_t at = (size_t)(next_rand() % (size - RANGE_LEN));
        PGresult *r;
        snprintf(off, sizeof off, "%zu", at);
        snprintf(len, sizeof len, "%d", RANGE_LEN);
        p[0] = oid;
        p[1] = off;
        p[2] = len;
        r = run("get", 3, p, -1, NULL, 0, 1, PGRES_TUPLES_OK);
        if (PQgetlength(r, 0, 0) != RANGE_LEN || memcmp(PQgetvalue(r, 0, 0), data + at, RANGE_LEN)) {
            die("lo: range differs");
        }
        PQclear(r);
    }
    res->range_ms = ranges > 0 ? (now_s() - t0) * 1000 / (double)ranges : 0;
    exec_ok("VACUUM ANALYZE pg_largeobject");
    res->disk = query_ll("SELECT pg_total_relation_size('pg_largeobject')") - before;
    t0 = now_s();
    p[0] = oid;
    PQclear(run("unlink", 1, p, -1, NULL, 0, 0, PGRES_TUPLES_OK));
    res->del_s = now_s() - t0;
    exec_ok("DROP TABLE bench_lo_meta");
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *dir, *want = "disk,rows256k,rows1m,rows4m,rowslz4,lo";
    long mb = 100, ranges = 200, repeats = 3;
    int text = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_files CONNINFO DIR [--mb N] [--ranges N] [--repeats N] "
                        "[--layouts a,b,...] [--text]\n");
        return 2;
    }
    dir = argv[2];
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--text") == 0) {
            text = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--mb") == 0) {
            mb = atol(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--ranges") == 0) {
            ranges = atol(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--repeats") == 0) {
            repeats = atol(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--layouts") == 0) {
            want = argv[++i];
        } else {
            die("unknown option %s", argv[i]);
        }
    }
    if (mb < 1 || mb > 4096 || repeats < 1 || repeats > 25 || ranges < 0) {
        die("--mb 1..4096, --repeats 1..25, --ranges >= 0");
    }
    size = (size_t)mb * 1000 * 1000;
    data = malloc(size);
    if (data == NULL) {
        die("out of memory");
    }
    fill(text);
    pg = PQconnectdb(argv[1]);
    if (PQstatus(pg) != CONNECTION_OK) {
        die("connect: %s", PQerrorMessage(pg));
    }
    exec_ok("SET client_min_messages = warning");
    printf("bench_files: %ld MB of %s, %ld repeats (median), %ld ranges of 64 KiB\n", mb,
           text ? "CSV text" : "random bytes", repeats, ranges);
    printf("| layout | upload MB/s | download MB/s | 64 KiB range, ms | WAL / file | on disk / "
           "file | delete, ms |\n|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (size_t li = 0; li < N_LAYOUTS; li++) {
        const layout *l = &all_layouts[li];
        double up[25], down[25], rg[25], del[25];
        result r = {0};
        char tok[32];
        const char *s = want;
        int found = 0;
        while (*s) {
            size_t k = strcspn(s, ",");
            snprintf(tok, sizeof tok, "%.*s", (int)k, s);
            found |= strcmp(tok, l->name) == 0;
            s += k + (s[k] == ',');
        }
        if (!found) {
            continue;
        }
        for (long rep = 0; rep < repeats; rep++) {
            memset(&r, 0, sizeof r);
            if (l->kind == 'd') {
                bench_disk(dir, ranges, &r);
            } else if (l->kind == 'r') {
                bench_rows(l, ranges, &r);
            } else {
                bench_lo(l, ranges, &r);
            }
            up[rep] = r.up_s;
            down[rep] = r.down_s;
            rg[rep] = r.range_ms;
            del[rep] = r.del_s;
        }
        qsort(up, (size_t)repeats, sizeof *up, cmp_d);
        qsort(down, (size_t)repeats, sizeof *down, cmp_d);
        qsort(rg, (size_t)repeats, sizeof *rg, cmp_d);
        qsort(del, (size_t)repeats, sizeof *del, cmp_d);
        printf("| %s | %.0f | %.0f | %.3f | %.2f | %.2f | %.1f |\n", l->name,
               (double)size / 1e6 / up[repeats / 2], (double)size / 1e6 / down[repeats / 2],
               rg[repeats / 2], (double)r.wal / (double)size, (double)r.disk / (double)size,
               del[repeats / 2] * 1000);
        fflush(stdout);
    }
    PQfinish(pg);
    free(data);
    return 0;
}
