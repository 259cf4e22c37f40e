/* metron-gateway: plays one gateway app of Metron (One, Cross or an LR8450
 * connected directly) with simulated instruments, against any Metron
 * server. docs/gateway.md. */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "share.h"
#include "state.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static const char usage[] =
    "usage: metron-gateway --server URL --code CODE [options]\n"
    "\n"
    "Plays one gateway app with simulated instruments against a Metron server\n"
    "(docs/gateway.md). The state folder keeps the app, its instruments and the\n"
    "batches not yet sent; a second start needs only --state.\n"
    "\n"
    "  --server URL          the server (http:// or https://; env METRON_SERVER_URL)\n"
    "  --code CODE           the app's registration code: the credential shown when\n"
    "                        the app was registered (env METRON_GATEWAY_CODE)\n"
    "  --code-file FILE      read the registration code from FILE\n"
    "  --state DIR           state folder (default ./gateway-state; env METRON_GATEWAY_STATE)\n"
    "  --kind KIND           one | cross | lr8450-direct (first start; default one)\n"
    "  --instruments N       simulated instruments (first start; default 3 One, 2 Cross)\n"
    "  --models LIST         comma-separated models instead (LR8450, LR8450-01, PW3390,\n"
    "                        BT3554-50, CM4372)\n"
    "  --channels N          channels of a logger (first start; default 8)\n"
    "  --interval S          seconds between samples (default 60)\n"
    "  --seed N              signal seed (first start; default random)\n"
    "  --specials RATE       share of special values, 0..0.5 (default 0.002)\n"
    "  --firmware MODEL=VER  run instruments of MODEL at firmware VER (repeatable)\n"
    "  --heartbeat S         seconds between heartbeats and channel-table reads (default 30)\n"
    "  --poll S              seconds between reads of the server's requests (default 5)\n"
    "  --memory S            how far back the instruments remember when the gateway\n"
    "                        was stopped (default 86400)\n"
    "  --batch-max N         sampling instants per batch when catching up (default 60)\n"
    "  --retry-max S         longest wait between tries while the server is away (default 30)\n"
    "  --timeout MS          time limit of one request (default 15000)\n"
    "  --cacert FILE         trust these certificate authorities (PEM) for https\n"
    "  --keepalive S         MQTT keep-alive, 5 to 600 s (default 30): a dead connection\n"
    "                        is noticed by the broker after 1.5 x this (its will)\n"
    "  --renew-days N        renew the MQTT client certificate N days before it expires\n"
    "                        (default 30; also while connected, without a reconnection)\n"
    "  --transport T         auto | mqtts | https: how batches travel (default auto:\n"
    "                        MQTTS when the server offers it, docs/mqtt.md)\n"
    "  --log quiet|info|debug (default info)\n"
    "\n"
    "What the app shares through the cloud (K1-K4, docs/app-share.md): one request,\n"
    "its answer on stdout, then the program ends (exit 0 done, 1 a local file,\n"
    "2 a wrong command, 3 the server refused it, 4 no answer). KIND is\n"
    "battery-profiles, battery-thresholds, photo-templates or equipment-lists.\n"
    "  --share-list KIND             the list (JSON)\n"
    "  --share-upload KIND:FILE      upload FILE (K1-K3), named by --share-name or\n"
    "                                the file's name; --share-replace replaces a file\n"
    "                                of that name\n"
    "  --share-download KIND:ID      the file's bytes, to --share-out FILE or stdout\n"
    "  --share-delete KIND:ID\n"
    "  --share-get equipment-lists:ID           one list with its items (JSON)\n"
    "  --share-create equipment-lists:FILE      a list from a JSON file\n"
    "  --share-edit equipment-lists:ID:FILE     change a list (name and/or items)\n"
    "  --help, --version\n";

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "metron-gateway: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (--help for usage)\n");
    return 2;
}

/* A whole number in [lo, hi]. */
static int int_arg(const char *s, long lo, long hi, int *out)
{
    char *end = NULL;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* A --share-... request (share.h): the server and the credential given,
 * else the ones saved in the state folder. */
static int share_run(const gw_config *cfg, const gw_share_cmd *share)
{
    char path[4200], err[300];
    const char *credential = cfg->credential, *server = cfg->server;
    char *saved = NULL;
    gw_state st;
    int rc;
    memset(&st, 0, sizeof st);
    if (credential == NULL) {
        size_t len = 0;
        snprintf(path, sizeof path, "%s/credential", cfg->state_dir);
        if ((saved = gw_read_file(path, 200, &len)) == NULL) {
            fprintf(stderr, "metron-gateway: no credential: give --code, or --state with the "
                            "folder of an app that ran before\n");
            return 2;
        }
        saved[strcspn(saved, "\r\n")] = '\0';
        credential = saved;
    }
    if (server == NULL) {
        if (gw_state_load(cfg->state_dir, &st, err, sizeof err) != 1 || st.server[0] == '\0') {
            fprintf(stderr, "metron-gateway: no server: give --server, or --state with the "
                            "folder of an app that ran before\n");
            free(saved);
            gw_state_clear(&st);
            return 2;
        }
        server = st.server;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "metron-gateway: libcurl does not start\n");
        free(saved);
        gw_state_clear(&st);
        return 1;
    }
    rc = gw_share_run(share, server, credential, cfg->cacert, cfg->timeout_ms);
    curl_global_cleanup();
    if (saved != NULL) {
        memset(saved, 0, strlen(saved));
    }
    free(saved);
    gw_state_clear(&st);
    return rc;
}

int main(int argc, char **argv)
{
    gw_share_cmd share = {0};
    static gw_fw_override fw[16];
    gw_config cfg;
    gw_app *app = NULL;
    char err[600];
    char code_buf[200];
    struct sigaction sa;

    memset(&cfg, 0, sizeof cfg);
    cfg.state_dir = getenv("METRON_GATEWAY_STATE") ? getenv("METRON_GATEWAY_STATE")
                                                   : "gateway-state";
    cfg.server = getenv("METRON_SERVER_URL");
    cfg.credential = getenv("METRON_GATEWAY_CODE");
    cfg.logger_channels = 8;
    cfg.special_rate = 0.002;
    cfg.heartbeat_s = 30;
    cfg.poll_s = 5;
    cfg.memory_s = 86400;
    cfg.batch_max = 60;
    cfg.retry_max_s = 30;
    cfg.keepalive_s = 30;
    cfg.renew_days = 30;
    cfg.timeout_ms = 15000;
    cfg.log = GW_LOG_INFO;
    cfg.fw = fw;

    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = NULL;
        char name[40];
        const char *eq = strchr(f, '=');
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(f, "--share-replace") == 0) {
            share.replace = true;
            continue;
        }
        if (strcmp(f, "--version") == 0) {
            puts("metron-gateway 1");
            return 0;
        }
        if (strncmp(f, "--", 2) != 0) {
            return bad("unexpected argument %s", f);
        }
        if (eq != NULL && (size_t)(eq - f) < sizeof name) {
            memcpy(name, f, (size_t)(eq - f));
            name[eq - f] = '\0';
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", f);
            if (i + 1 >= argc) {
                return bad("%s needs a value", f);
            }
            v = argv[++i];
        }
        if (strncmp(name, "--share-", 8) == 0) {
            static const struct {
                const char *opt;
                gw_share_action action;
            } acts[] = {{"--share-list", GW_SHARE_LIST},         {"--share-get", GW_SHARE_GET},
                        {"--share-upload", GW_SHARE_UPLOAD},     {"--share-download", GW_SHARE_DOWNLOAD},
                        {"--share-delete", GW_SHARE_DELETE},     {"--share-create", GW_SHARE_CREATE},
                        {"--share-edit", GW_SHARE_EDIT}};
            bool known = false;
            for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
                if (strcmp(name, acts[k].opt) == 0) {
                    if (share.action != GW_SHARE_NONE) {
                        return bad("one --share-... request at a time, not also %s", name);
                    }
                    share.action = acts[k].action;
                    share.arg = v;
                    known = true;
                }
            }
            if (strcmp(name, "--share-name") == 0) {
                share.name = v;
            } else if (strcmp(name, "--share-out") == 0) {
                share.out = v;
            } else if (!known) {
                return bad("unknown option %s", name);
            }
        } else if (strcmp(name, "--server") == 0) {
            cfg.server = v;
        } else if (strcmp(name, "--code") == 0) {
            cfg.credential = v;
        } else if (strcmp(name, "--code-file") == 0) {
            FILE *fp = fopen(v, "r");
            size_t n;
            if (fp == NULL) {
                return bad("--code-file: cannot read %s", v);
            }
            n = fread(code_buf, 1, sizeof code_buf - 1, fp);
            fclose(fp);
            code_buf[n] = '\0';
            code_buf[strcspn(code_buf, "\r\n")] = '\0';
            cfg.credential = code_buf;
        } else if (strcmp(name, "--state") == 0) {
            cfg.state_dir = v;
        } else if (strcmp(name, "--kind") == 0) {
            cfg.kind = v;
        } else if (strcmp(name, "--models") == 0) {
            cfg.models = v;
        } else if (strcmp(name, "--instruments") == 0) {
            if (int_arg(v, 1, GW_INSTRUMENTS_MAX, &cfg.n_instruments) != 0) {
                return bad("--instruments: expected 1 to 1000, not %s", v);
            }
        } else if (strcmp(name, "--channels") == 0) {
            if (int_arg(v, 1, GW_CHANNELS_MAX, &cfg.logger_channels) != 0) {
                return bad("--channels: expected 1 to 1000, not %s", v);
            }
        } else if (strcmp(name, "--interval") == 0) {
            if (int_arg(v, 1, 3600, &cfg.interval_s) != 0) {
                return bad("--interval: expected 1 to 3600 seconds, not %s", v);
            }
        } else if (strcmp(name, "--seed") == 0) {
            char *end = NULL;
            errno = 0;
            cfg.seed = strtoull(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || *v == '-') {
                return bad("--seed: expected a whole number, not %s", v);
            }
            cfg.seed_set = true;
        } else if (strcmp(name, "--specials") == 0) {
            char *end = NULL;
            cfg.special_rate = strtod(v, &end);
            if (end == v || *end != '\0' || !(cfg.special_rate >= 0 && cfg.special_rate <= 0.5)) {
                return bad("--specials: expected a share from 0 to 0.5, not %s", v);
            }
        } else if (strcmp(name, "--firmware") == 0) {
            const char *e = strchr(v, '=');
            gw_fw_override *o = &fw[cfg.n_fw];
            if (cfg.n_fw >= sizeof fw / sizeof fw[0]) {
                return bad("--firmware: at most 16 %s", "overrides");
            }
            if (e == NULL || e == v || (size_t)(e - v) > GW_MODEL_MAX ||
                strlen(e + 1) > GW_FIRMWARE_MAX || !gw_firmware_valid(e + 1)) {
                return bad("--firmware: expected MODEL=VERSION such as LR8450=V1.40, not %s", v);
            }
            memcpy(o->model, v, (size_t)(e - v));
            o->model[e - v] = '\0';
            snprintf(o->firmware, sizeof o->firmware, "%s", e + 1);
            cfg.n_fw++;
        } else if (strcmp(name, "--heartbeat") == 0) {
            if (int_arg(v, 1, 3600, &cfg.heartbeat_s) != 0) {
                return bad("--heartbeat: expected 1 to 3600 seconds, not %s", v);
            }
        } else if (strcmp(name, "--poll") == 0) {
            if (int_arg(v, 1, 3600, &cfg.poll_s) != 0) {
                return bad("--poll: expected 1 to 3600 seconds, not %s", v);
            }
        } else if (strcmp(name, "--memory") == 0) {
            if (int_arg(v, 0, 31 * 86400, &cfg.memory_s) != 0) {
                return bad("--memory: expected 0 to 2678400 seconds, not %s", v);
            }
        } else if (strcmp(name, "--batch-max") == 0) {
            if (int_arg(v, 1, 1000, &cfg.batch_max) != 0) {
                return bad("--batch-max: expected 1 to 1000, not %s", v);
            }
        } else if (strcmp(name, "--retry-max") == 0) {
            if (int_arg(v, 1, 3600, &cfg.retry_max_s) != 0) {
                return bad("--retry-max: expected 1 to 3600 seconds, not %s", v);
            }
        } else if (strcmp(name, "--timeout") == 0) {
            int ms;
            if (int_arg(v, 100, 600000, &ms) != 0) {
                return bad("--timeout: expected 100 to 600000 ms, not %s", v);
            }
            cfg.timeout_ms = ms;
        } else if (strcmp(name, "--keepalive") == 0) {
            if (int_arg(v, 5, 600, &cfg.keepalive_s) != 0) {
                return bad("--keepalive: expected 5 to 600 seconds, not %s", v);
            }
        } else if (strcmp(name, "--renew-days") == 0) {
            if (int_arg(v, 1, 3650, &cfg.renew_days) != 0) {
                return bad("--renew-days: expected 1 to 3650 days, not %s", v);
            }
        } else if (strcmp(name, "--transport") == 0) {
            if (strcmp(v, "auto") == 0) {
                cfg.transport = GW_TRANSPORT_AUTO;
            } else if (strcmp(v, "mqtts") == 0) {
                cfg.transport = GW_TRANSPORT_MQTTS;
            } else if (strcmp(v, "https") == 0) {
                cfg.transport = GW_TRANSPORT_HTTPS;
            } else {
                return bad("--transport: expected auto, mqtts or https, not %s", v);
            }
        } else if (strcmp(name, "--cacert") == 0) {
            cfg.cacert = v;
        } else if (strcmp(name, "--log") == 0) {
            if (strcmp(v, "quiet") == 0) {
                cfg.log = GW_LOG_QUIET;
            } else if (strcmp(v, "info") == 0) {
                cfg.log = GW_LOG_INFO;
            } else if (strcmp(v, "debug") == 0) {
                cfg.log = GW_LOG_DEBUG;
            } else {
                return bad("--log: expected quiet, info or debug, not %s", v);
            }
        } else {
            return bad("unknown option %s", name);
        }
    }

    if (share.action != GW_SHARE_NONE) {
        return share_run(&cfg, &share);
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "metron-gateway: libcurl does not start\n");
        return 1;
    }
    if (gw_app_open(&cfg, &app, err, sizeof err) != 0) {
        fprintf(stderr, "metron-gateway: %s\n", err);
        curl_global_cleanup();
        return 1;
    }
    while (!stop_signal) {
        int64_t now = gw_now_ms(), wake = gw_app_step(app, now);
        gw_app_wait(app, wake - gw_now_ms());
    }
    {
        gw_stats s;
        gw_app_stats(app, &s);
        gw_log(GW_LOG_QUIET, cfg.log,
               "stopping: %" PRIu64 " sampling instants, %" PRIu64 " batches acknowledged (%"
               PRIu64 " as duplicates), %" PRIu64 " refused, %zu waiting in the spool",
               s.ticks, s.batches_sent, s.duplicates, s.refused, s.spooled);
    }
    gw_app_close(app);
    curl_global_cleanup();
    return 0;
}
