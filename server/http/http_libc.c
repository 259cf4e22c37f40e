/* The C library functions this executable defines in place of glibc's
 * (http_libc.h). Each gives what glibc's gives for the same arguments. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "http_libc.h"

#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef size_t strftime_fn(char *, size_t, const char *, const struct tm *);
typedef int getnameinfo_fn(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t,
                           int);

static strftime_fn *g_strftime;
static getnameinfo_fn *g_getnameinfo;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void resolve_libc(void)
{
    /* The next definitions after this executable's: glibc's (copied as
     * POSIX says a dlsym() result is made a function pointer). */
    void *f = dlsym(RTLD_NEXT, "strftime"), *g = dlsym(RTLD_NEXT, "getnameinfo");
    memcpy(&g_strftime, &f, sizeof f);
    memcpy(&g_getnameinfo, &g, sizeof g);
}

void http_libc_init(void)
{
    pthread_once(&g_once, resolve_libc);
}

/* localtime() and gmtime() of this process, with one result buffer per
 * thread instead of glibc's one for both. Debian's CivetWeb is built without
 * REENTRANT_TIME: it calls localtime() for the date of its own access line
 * (made only when a log_access callback or file is set; the server sets
 * neither since 2026-12-07) and gmtime() for the Date and Last-Modified headers, in every
 * worker at once. With the shared buffer, a worker's header could be
 * formatted from another worker's time (an hours-old connection's start) or
 * half of each: ThreadSanitizer's report of CivetWeb's localtime(),
 * docs/server-code.md. The executable's definitions take the place of
 * glibc's for every shared library that calls them (CivetWeb; libpq and
 * libxlsxwriter too), and localtime_r() reads the zone once (main() sets TZ
 * before any thread). Our own code uses the _r forms.
 *
 * localtime() keeps the last time it converted in each thread (issue 16):
 * CivetWeb converts its connection's start for every request, the same
 * time for all the requests of a keep-alive connection, which stays on
 * one worker. The zone is read once (above), so the same time gives the
 * same result; the caller gets a copy, which it may change. */
struct tm *localtime(const time_t *t)
{
    static _Thread_local struct {
        bool set;
        time_t t;
        struct tm last, out;
    } tl;
    if (!tl.set || tl.t != *t) {
        if (localtime_r(t, &tl.last) == NULL) {
            tl.set = false;
            return NULL;
        }
        tl.t = *t;
        tl.set = true;
    }
    tl.out = tl.last;
    return &tl.out;
}

struct tm *gmtime(const time_t *t)
{
    static _Thread_local struct tm tm;
    return gmtime_r(t, &tm);
}

static bool same_tm(const struct tm *a, const struct tm *b)
{
    return a->tm_sec == b->tm_sec && a->tm_min == b->tm_min && a->tm_hour == b->tm_hour &&
           a->tm_mday == b->tm_mday && a->tm_mon == b->tm_mon && a->tm_year == b->tm_year &&
           a->tm_wday == b->tm_wday && a->tm_yday == b->tm_yday && a->tm_isdst == b->tm_isdst &&
           a->tm_gmtoff == b->tm_gmtoff && a->tm_zone == b->tm_zone;
}

/* strftime() that remembers its last result in each thread (issue 16):
 * CivetWeb writes the date of its access line for every request from the
 * same time for all the requests of a connection (localtime() above), and
 * glibc's strftime() of it was 1.2 k instructions. The same format and the
 * same broken-down time give the same text: the process never changes its
 * locale (it stays "C"; nothing calls setlocale() or uselocale()). A result
 * is reused only where it fits ("max" more than its length); what does not
 * fit, or is empty, goes to glibc every time. */
size_t strftime(char *restrict s, size_t max, const char *restrict format,
                const struct tm *restrict tm)
{
    static _Thread_local struct {
        bool set;
        struct tm tm;
        size_t len;
        char format[64];
        char out[128];
    } tl;
    size_t format_len = strlen(format), n;
    if (tl.set && tl.len < max && format_len < sizeof tl.format && same_tm(tm, &tl.tm) &&
        memcmp(format, tl.format, format_len + 1) == 0) {
        memcpy(s, tl.out, tl.len + 1);
        return tl.len;
    }
    http_libc_init();
    n = g_strftime(s, max, format, tm);
    tl.set = n > 0 && n < sizeof tl.out && format_len < sizeof tl.format;
    if (tl.set) {
        tl.tm = *tm;
        tl.len = n;
        memcpy(tl.format, format, format_len + 1);
        memcpy(tl.out, s, n + 1);
    }
    return n;
}

/* "a" (network order) as inet_ntop(AF_INET) writes it into "out" (16
 * bytes); returns its length. */
static size_t ipv4_text(const struct in_addr *a, char out[16])
{
    unsigned char b[4];
    size_t n = 0;
    memcpy(b, a, 4);
    for (int i = 0; i < 4; i++) {
        if (b[i] >= 100) {
            out[n++] = (char)('0' + b[i] / 100);
        }
        if (b[i] >= 10) {
            out[n++] = (char)('0' + b[i] / 10 % 10);
        }
        out[n++] = (char)('0' + b[i] % 10);
        out[n++] = i < 3 ? '.' : '\0';
    }
    return n - 1;
}

/* getnameinfo() with the numeric IPv4 host alone written here (issue 16):
 * CivetWeb writes its peer's address so for every access line, and glibc's
 * went through inet_ntop()'s sprintf() (1.8 k instructions). Exactly
 * glibc's case: NI_NUMERICHOST and no other flag, an AF_INET address of
 * its full length, a host buffer it fits in, no service asked for. Every
 * other call is glibc's. */
int getnameinfo(const struct sockaddr *restrict sa, socklen_t salen, char *restrict host,
                socklen_t hostlen, char *restrict serv, socklen_t servlen, int flags)
{
    if (flags == NI_NUMERICHOST && sa != NULL && salen >= sizeof(struct sockaddr_in) &&
        sa->sa_family == AF_INET && host != NULL && hostlen > 0 && (serv == NULL || servlen == 0)) {
        struct sockaddr_in sin;
        char text[16];
        size_t len;
        memcpy(&sin, sa, sizeof sin);
        len = ipv4_text(&sin.sin_addr, text);
        if (len < hostlen) {
            memcpy(host, text, len + 1);
            return 0;
        }
    }
    http_libc_init();
    return g_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
}
