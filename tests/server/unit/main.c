/* Runner of the server's C unit tests (tests/t.h conventions): TAP lines and
 * a closing "N passed, N failed". Usage: server_unit_tests [substring].
 *
 * A watchdog ends a test that runs longer than METRON_UNIT_TIMEOUT_S
 * seconds (default 120; 0 turns it off) with its name, so that a hang fails
 * the run instead of holding it with no CPU and no name: the output is
 * line-buffered, and the runner aborts (a core file, where enabled, holds
 * every thread's stack). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "t.h"

void suite_auth_password(void);
void suite_auth_totp(void);
void suite_auth_crypto(void);
void suite_config(void);
void suite_db_embed(void);
void suite_db_listen(void);
void suite_db_migrate(void);
void suite_db_replica(void);
void suite_log(void);
void suite_notify_format(void);
void suite_http_range(void);
void suite_json_guard(void);
void suite_refresher(void);
void suite_reply_cache(void);
void suite_reply_share(void);
void suite_raw_cache(void);
void suite_monitor_cache(void);
void suite_shared_read(void);
void suite_app_cache(void);
void suite_svc(void);
void suite_mqtt_ca(void);
void suite_mqtt_bridge(void);
void suite_instruments(void);
void suite_ingest_parse(void);
void suite_netaddr(void);
void suite_isotime(void);
void suite_picture_info(void);
void suite_linelog(void);
void suite_cmp(void);
void suite_stripes(void);
void suite_waitword(void);
void suite_http_time(void);
void suite_srv(void);
void suite_http_conns(void);
void suite_alarm_msg(void);

static int n_passed, n_failed, cur_failed;
static const char *filter;
static unsigned timeout_s = 120;
/* What the watchdog writes: made before each test, as the handler may
 * only write(). */
static char hung_msg[512];
static size_t hung_len;

static void on_alarm(int sig)
{
    (void)sig;
    (void)!write(STDOUT_FILENO, hung_msg, hung_len);
    signal(SIGABRT, SIG_DFL);
    abort();
}

void t__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    cur_failed = 1;
    printf("#   %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

void t__run(const char *name, void (*fn)(void))
{
    if (filter && !strstr(name, filter)) {
        return;
    }
    cur_failed = 0;
    if (timeout_s > 0) {
        int n =
            snprintf(hung_msg, sizeof hung_msg,
                     "not ok %d - %s\n#   %s was still running after %u s: stopped by the "
                     "watchdog (a hang?)\nBail out! %s hung\n%d passed, %d failed\n",
                     n_passed + n_failed + 1, name, name, timeout_s, name, n_passed, n_failed + 1);
        hung_len = n < 0 ? 0 : (size_t)n < sizeof hung_msg ? (size_t)n : sizeof hung_msg - 1;
        fflush(stdout);
        alarm(timeout_s);
    }
    fn();
    alarm(0);
    if (cur_failed) {
        n_failed++;
        printf("not ok %d - %s\n", n_passed + n_failed, name);
    } else {
        n_passed++;
        printf("ok %d - %s\n", n_passed + n_failed, name);
    }
}

/* No fixtures here; t.h declares these for the core suite. */
unsigned char *t_fixture(const char *name, size_t *len)
{
    (void)name;
    *len = 0;
    return NULL;
}

const char *t_fixture_path(const char *name)
{
    return name;
}

int main(int argc, char **argv)
{
    const char *t = getenv("METRON_UNIT_TIMEOUT_S");
    filter = argc > 1 ? argv[1] : NULL;
    if (t != NULL && *t != '\0') {
        timeout_s = (unsigned)strtoul(t, NULL, 10);
    }
    /* Each line as it is written: a run that is killed still names the
     * tests it ran and the one it was in. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    suite_auth_password();
    suite_auth_totp();
    suite_auth_crypto();
    suite_config();
    suite_db_embed();
    suite_db_listen();
    suite_db_replica();
    suite_log();
    suite_notify_format();
    suite_http_range();
    suite_json_guard();
    suite_refresher();
    suite_reply_cache();
    suite_reply_share();
    suite_raw_cache();
    suite_monitor_cache();
    suite_shared_read();
    suite_app_cache();
    suite_svc();
    suite_mqtt_ca();
    suite_mqtt_bridge();
    suite_instruments();
    suite_ingest_parse();
    suite_netaddr();
    suite_isotime();
    suite_picture_info();
    suite_linelog();
    suite_cmp();
    suite_stripes();
    suite_waitword();
    suite_http_time();
    suite_srv();
    suite_db_migrate();
    /* Last: from its first test on, the executable's accept() and close()
     * count connections (http_conns.c). */
    suite_http_conns();
    suite_alarm_msg();
    printf("1..%d\n%d passed, %d failed\n", n_passed + n_failed, n_passed, n_failed);
    return n_failed ? 1 : 0;
}
