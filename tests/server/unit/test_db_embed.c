/* server/db/db_embed.c: the pg_hba.conf it writes and the replication seam's
 * checks (the cluster itself: tests/server/embedded.test.mjs). */
#include <stdio.h>
#include <string.h>

#include "db_embed.h"
#include "t.h"

/* Whether an uncommented line of "hba" contains "word". */
static int hba_line_has(const char *hba, const char *word)
{
    const char *line = hba;
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (line[0] != '#') {
            for (const char *p = line; p + strlen(word) <= line + len; p++) {
                if (strncmp(p, word, strlen(word)) == 0) {
                    return 1;
                }
            }
        }
        if (end == NULL) {
            break;
        }
        line = end + 1;
    }
    return 0;
}

static void embed_hba_is_scram_on_the_socket_only(void)
{
    char hba[2048];
    T_EQ_INT(db_embed__hba_text(hba, sizeof hba, 0, NULL, 0), 0);
    T_TRUE(hba_line_has(hba, "local   all   all   scram-sha-256"));
    T_TRUE(!hba_line_has(hba, "trust"));
    T_TRUE(!hba_line_has(hba, "host"));
    T_TRUE(!hba_line_has(hba, "replication"));
    T_TRUE(!hba_line_has(hba, "peer"));
}

static void embed_hba_bootstrap_is_peer_for_postgres_only(void)
{
    char hba[2048];
    T_EQ_INT(db_embed__hba_text(hba, sizeof hba, 1, NULL, 0), 0);
    T_TRUE(hba_line_has(hba, "local   postgres   postgres   peer map=metron"));
    T_TRUE(!hba_line_has(hba, "trust"));
    T_TRUE(!hba_line_has(hba, "host"));
    T_TRUE(!hba_line_has(hba, "all"));
}

static void embed_hba_reports_a_short_buffer(void)
{
    char hba[64];
    db_embed_repl r;
    char err[128];
    T_EQ_INT(db_embed__hba_text(hba, sizeof hba, 0, NULL, 0), -1);
    T_EQ_INT(db_embed__hba_text(hba, sizeof hba, 1, NULL, 0), -1);
    T_EQ_INT(db_embed__repl_parse("standby", "10.0.0.7/32", &r, err, sizeof err), 0);
    {
        char fits_base[400];
        /* Room for the base text but not for the replication line. */
        T_EQ_INT(db_embed__hba_text(fits_base, sizeof fits_base, 0, NULL, 0), 0);
        T_EQ_INT(db_embed__hba_text(fits_base, strlen(fits_base) + 10, 0, &r, 1), -1);
    }
}

static void embed_repl_refuses_bad_roles_and_addresses(void)
{
    static const struct {
        const char *role, *cidr, *msg;
    } bad[] = {
        {"", "10.0.0.7/32", "role"},
        {"Standby", "10.0.0.7/32", "role"},
        {"9standby", "10.0.0.7/32", "role"},
        {"stand by", "10.0.0.7/32", "role"},
        {"all", "10.0.0.7/32", "reserved"},
        {"postgres", "10.0.0.7/32", "reserved"},
        {"pg_monitor", "10.0.0.7/32", "reserved"},
        {"standby", "10.0.0.7/3x", "prefix"},
        {"standby\nlocal", "10.0.0.7/32", "role"},
        {"standby", "10.0.0.7", "ADDRESS/PREFIX"},
        {"standby", "/32", "ADDRESS/PREFIX"},
        {"standby", "10.0.0.7/", "prefix"},
        {"standby", "10.0.0.7/33", "0 to 32"},
        {"standby", "::1/129", "0 to 128"},
        {"standby", "10.0.0.7/0032", "prefix"},
        {"standby", "host.example/32", "ADDRESS/PREFIX"},
        {"standby", "10.0.0.7/32 trust", "prefix"},
        {"standby", "10.0.0.7 trust/32", "ADDRESS/PREFIX"},
        {"standby", "all", "ADDRESS/PREFIX"},
    };
    char err[128];
    db_embed_repl r;
    char long_role[80];
    memset(long_role, 'a', 64);
    long_role[64] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (db_embed__repl_parse(bad[i].role, bad[i].cidr, &r, err, sizeof err) != -1) {
            T_FAIL("accepted role '%s' cidr '%s'", bad[i].role, bad[i].cidr);
        }
        if (strstr(err, bad[i].msg) == NULL) {
            T_FAIL("'%s' '%s': %s", bad[i].role, bad[i].cidr, err);
        }
    }
    T_EQ_INT(db_embed__repl_parse(long_role, "10.0.0.7/32", &r, err, sizeof err), -1);
    long_role[63] = '\0';
    T_EQ_INT(db_embed__repl_parse(long_role, "10.0.0.7/32", &r, err, sizeof err), 0);
}

static void embed_repl_adds_one_scram_line_per_role(void)
{
    char hba[2048], err[128];
    db_embed_repl r[2];
    T_EQ_INT(db_embed__repl_parse("standby", "10.0.0.7/32", &r[0], err, sizeof err), 0);
    T_EQ_INT(db_embed__repl_parse("_standby_2", "fd00::/64", &r[1], err, sizeof err), 0);
    T_EQ_INT(db_embed__hba_text(hba, sizeof hba, 0, r, 2), 0);
    T_TRUE(hba_line_has(hba, "host    replication   \"standby\"   10.0.0.7/32   scram-sha-256"));
    T_TRUE(hba_line_has(hba, "host    replication   \"_standby_2\"   fd00::/64   scram-sha-256"));
    T_TRUE(hba_line_has(hba, "local   all   all   scram-sha-256"));
    T_TRUE(!hba_line_has(hba, "trust"));
}

/* The states pg_controldata reports (PostgreSQL 15, dbState()). */
static void embed_refuses_a_cluster_left_in_recovery_without_a_signal_file(void)
{
    T_TRUE(db_embed__state_needs_restore("shut down in recovery", false, false));
    T_TRUE(db_embed__state_needs_restore("in archive recovery", false, false));
    /* An interrupted scripts/restore put recovery.signal back; a standby. */
    T_TRUE(!db_embed__state_needs_restore("shut down in recovery", true, false));
    T_TRUE(!db_embed__state_needs_restore("shut down in recovery", false, true));
    T_TRUE(!db_embed__state_needs_restore("in archive recovery", false, true));
    /* Ordinary clusters, and a crash of a primary (crash recovery is right). */
    T_TRUE(!db_embed__state_needs_restore("shut down", false, false));
    T_TRUE(!db_embed__state_needs_restore("in production", false, false));
    T_TRUE(!db_embed__state_needs_restore("in crash recovery", false, false));
    T_TRUE(!db_embed__state_needs_restore("shutting down", false, false));
    T_TRUE(!db_embed__state_needs_restore("", false, false));
}

void suite_db_embed(void)
{
    T_RUN(embed_hba_is_scram_on_the_socket_only);
    T_RUN(embed_hba_bootstrap_is_peer_for_postgres_only);
    T_RUN(embed_hba_reports_a_short_buffer);
    T_RUN(embed_repl_refuses_bad_roles_and_addresses);
    T_RUN(embed_repl_adds_one_scram_line_per_role);
    T_RUN(embed_refuses_a_cluster_left_in_recovery_without_a_signal_file);
}
