/* server/db/db_replica.c: the standby's connection string gets a connect
 * time-out (the staleness bound itself: tests/server/scale.test.mjs). */
#include <string.h>

#include "db_replica.h"
#include "t.h"

static void replica_conninfo_gets_a_connect_timeout(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"host=/tmp/x port=5433 dbname=metron",
         "host=/tmp/x port=5433 dbname=metron connect_timeout=2"},
        {"postgresql://u@127.0.0.1:5433/metron",
         "postgresql://u@127.0.0.1:5433/metron?connect_timeout=2"},
        {"postgres://h/db?sslmode=require", "postgres://h/db?sslmode=require&connect_timeout=2"},
        {"host=h connect_timeout=9", "host=h connect_timeout=9"}, /* the operator's stands */
        {"postgresql://h/db?connect_timeout=9", "postgresql://h/db?connect_timeout=9"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        T_EQ_INT(db_replica__conninfo(cases[i].in, out, sizeof out), 0);
        T_EQ_STR(out, cases[i].out);
    }
    T_EQ_INT(db_replica__conninfo("host=h", out, 10), -1); /* does not fit: refused, not cut */
}

void suite_db_replica(void)
{
    T_RUN(replica_conninfo_gets_a_connect_timeout);
}
