/* server/config.c: flags over environment over defaults. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "config.h"
#include "t.h"

static config_result parse(srv_config *cfg, const char *const *args, char *err, size_t cap)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "metron-server";
    for (; *args != NULL && argc < 15; args++) {
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    return config_parse(cfg, argc, argv, err, cap);
}

static void config_defaults(void)
{
    srv_config cfg;
    char err[200];
    const char *args[] = {NULL};
    unsetenv("METRON_LISTEN");
    unsetenv("DATABASE_URL");
    T_EQ_INT(parse(&cfg, args, err, sizeof err), CONFIG_OK);
    T_TRUE(strcmp(cfg.listen, "127.0.0.1:8080") == 0);
    T_TRUE(strcmp(cfg.data_dir, "./var") == 0);
    T_TRUE(cfg.database_url == NULL);
    T_EQ_INT(cfg.threads, 64);
    T_EQ_INT(cfg.max_body, 1048576);
    T_TRUE(!cfg.demo);
}

static void config_flags_override_environment(void)
{
    srv_config cfg;
    char err[200];
    const char *args[] = {"--listen", "127.0.0.1:9000", "--threads=8", "--demo", NULL};
    setenv("METRON_LISTEN", "127.0.0.1:7000", 1);
    setenv("METRON_THREADS", "4", 1);
    T_EQ_INT(parse(&cfg, args, err, sizeof err), CONFIG_OK);
    T_TRUE(strcmp(cfg.listen, "127.0.0.1:9000") == 0);
    T_EQ_INT(cfg.threads, 8);
    T_TRUE(cfg.demo);
    unsetenv("METRON_LISTEN");
    unsetenv("METRON_THREADS");
}

static void config_refuses_bad_values(void)
{
    srv_config cfg;
    char err[200];
    const char *a1[] = {"--listen", "example.com:80", NULL};
    const char *a2[] = {"--threads", "many", NULL};
    const char *a3[] = {"--demo=yes", NULL};
    const char *a4[] = {"--max-body", "12", NULL};
    const char *a5[] = {"--listen", "127.0.0.1:70000", NULL};
    const char *a6[] = {"--portal=", NULL};
    T_EQ_INT(parse(&cfg, a1, err, sizeof err), CONFIG_USAGE);
    T_EQ_INT(parse(&cfg, a2, err, sizeof err), CONFIG_USAGE);
    T_TRUE(strstr(err, "--threads") != NULL);
    T_EQ_INT(parse(&cfg, a3, err, sizeof err), CONFIG_USAGE);
    T_EQ_INT(parse(&cfg, a4, err, sizeof err), CONFIG_USAGE);
    T_EQ_INT(parse(&cfg, a5, err, sizeof err), CONFIG_USAGE);
    T_EQ_INT(parse(&cfg, a6, err, sizeof err), CONFIG_USAGE);
}

static void config_accepts_a_bare_port(void)
{
    srv_config cfg;
    char err[200];
    const char *args[] = {"--listen", "8081", NULL};
    T_EQ_INT(parse(&cfg, args, err, sizeof err), CONFIG_OK);
}

void suite_config(void)
{
    T_RUN(config_defaults);
    T_RUN(config_flags_override_environment);
    T_RUN(config_refuses_bad_values);
    T_RUN(config_accepts_a_bare_port);
}
