/* The spool: files are listed oldest first across a reopen, a write cut
 * short by a crash is never listed, a refused batch moves aside. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "t.h"

static void rm_rf(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        /* a temp folder left behind */
    }
}

static void spool_lists_oldest_first_across_a_reopen(void)
{
    char dir[] = "/tmp/gw-spool-XXXXXX", err[300], path[300], *text;
    gw_spool *s = NULL;
    size_t len = 0;
    FILE *f;
    T_TRUE(mkdtemp(dir) != NULL);
    T_EQ_INT(gw_spool_open(dir, &s, err, sizeof err), 0);
    T_EQ_INT(gw_spool_put(s, "000000000300.batch", "c", 1, err, sizeof err), 0);
    T_EQ_INT(gw_spool_put(s, "000000000100.batch", "a", 1, err, sizeof err), 0);
    T_EQ_INT(gw_spool_put(s, "000000000200.batch", "bb", 2, err, sizeof err), 0);
    T_EQ_INT(gw_spool_put(s, "bad name", "x", 1, err, sizeof err), -1);
    T_EQ_INT(gw_spool_count(s), 3);
    T_EQ_U64(gw_spool_bytes(s), 4);
    T_EQ_STR(gw_spool_name(s, 0), "000000000100.batch");
    gw_spool_close(s);
    /* A crash in the middle of a write leaves a temporary file. */
    snprintf(path, sizeof path, "%s/spool/.tmp-000000000400.batch", dir);
    f = fopen(path, "w");
    T_TRUE(f != NULL);
    fputs("half", f);
    fclose(f);
    T_EQ_INT(gw_spool_open(dir, &s, err, sizeof err), 0);
    T_EQ_INT(gw_spool_count(s), 3);
    T_TRUE(access(path, F_OK) != 0);
    text = gw_spool_read(s, "000000000200.batch", &len, err, sizeof err);
    T_EQ_STR(text, "bb");
    free(text);
    T_EQ_INT(gw_spool_drop(s, "000000000100.batch"), 0);
    T_EQ_INT(gw_spool_refuse(s, "000000000200.batch", "422 no"), 0);
    T_EQ_INT(gw_spool_count(s), 1);
    T_EQ_STR(gw_spool_name(s, 0), "000000000300.batch");
    T_TRUE(gw_spool_name(s, 1) == NULL);
    snprintf(path, sizeof path, "%s/refused/000000000200.batch.why", dir);
    T_TRUE(access(path, F_OK) == 0);
    gw_spool_close(s);
    rm_rf(dir);
}

void suite_gw_spool(void)
{
    T_RUN(spool_lists_oldest_first_across_a_reopen);
}
