/* The production build's set of migrations: the built-in ones only. The
 * test build links db_migrate_extra.c instead, which may add a folder of
 * newer ones (METRON_TEST_EXTRA_MIGRATIONS) to simulate a newer release. */
#include <stdlib.h>

#include "db_migrate.h"
#include "log.h"

int db_migrations_of_build(const db_migration **set, size_t *count, char *err, size_t err_cap)
{
    (void)err;
    (void)err_cap;
    if (getenv("METRON_TEST_EXTRA_MIGRATIONS") != NULL) {
        log_warn("METRON_TEST_EXTRA_MIGRATIONS is read by the test build only "
                 "(metron-server-test); this server ignores it");
    }
    *set = db_migrations;
    *count = db_migrations_count;
    return 0;
}
