/* Computed channels (X1-X4, S2): derived data recomputed as samples arrive.
 * The compactor calls computed_on_fold() (series_store.h). */
#include "series_store.h"

db_status computed_on_fold(db_conn *c, long long account_id, const ingest_rec *rec, size_t n)
{
    /* Filled in by the computed-channels work (issue #4): until then there
     * are no computed channels whose data could need recomputing. */
    (void)c;
    (void)account_id;
    (void)rec;
    (void)n;
    return DB_OK;
}
