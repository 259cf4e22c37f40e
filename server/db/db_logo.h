/* Storage of the account logo (G7). Every statement
 * filters by account_id; rows are mapped with db_rows_map() (db_apps.h),
 * strings are heap copies, times ISO 8601 UTC. */
#ifndef MTS_DB_LOGO_H
#define MTS_DB_LOGO_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* The logo: *found false when the account has none; otherwise *data
 * (caller frees with free()), *len and "content_type" (at least 32 bytes). */
db_status db_logo_get(db_conn *c, long long account_id, unsigned char **data, size_t *len,
                      char *content_type, size_t ct_cap, bool *found);

/* Store "len" bytes of "data" as the logo ("data_hex": their hex, lower-case). */
db_status db_logo_set(db_conn *c, long long account_id, const char *data_hex,
                      const char *content_type);

/* Remove the logo; *found false when there was none. */
db_status db_logo_delete(db_conn *c, long long account_id, bool *found);

#endif
