/* A9: the audit log of administrative actions. Entries are per account;
 * the actor is the signed-in user (or their API token), a gateway app (what
 * it changes itself: its device reports, app share K1-K4) or the system (no
 * one signed in), the address its client's.
 *
 * An administrative change writes its entry with audit_write() on the
 * connection of its own transaction, before it commits: the change and its
 * entry are kept or lost together (a failed change leaves no entry, an
 * entry that cannot be written undoes the change). Sign-in events that are
 * not part of a change (a login, a refused login, a reset request) use
 * audit(), which writes on a connection of its own. */
#ifndef MTS_AUDIT_H
#define MTS_AUDIT_H

#include "mt/status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "db.h"
#include "db_auth.h"
#include "svc.h"

/* Who acts, for the audit log. */
typedef struct {
    long long account_id; /* the account the entry belongs to; 0 = write nothing */
    long long user_id;    /* the acting user; 0 = the system */
    bool via_token;       /* the user acts through an API token */
    const char *ip;       /* the client address (borrowed); may be NULL */
    long long app_id;     /* the acting gateway app (user_id then 0); 0 = none */
} audit_who;

/* Write the entry "action" (lower-case dotted: "user.create") on the target
 * "target_type"/"target_id" (NULL / 0 when none) with "detail_json" (a JSON
 * object text, or NULL for {}; never secrets) for "who", on "c" inside the
 * caller's transaction. Nothing is written (DB_OK) when who->account_id is
 * 0. Returns the database status: on failure the caller rolls back. */
MT_MUSTCHECK
db_status audit_write(db_conn *c, const audit_who *who, const char *action,
                      const char *target_type, long long target_id, const char *detail_json);

/* audit_write() with the detail {"key": "val"} (none when "key" or "val"
 * is NULL); "val" may be any text (it is escaped). */
MT_MUSTCHECK
db_status audit_write_kv(db_conn *c, const audit_who *who, const char *action,
                         const char *target_type, long long target_id, const char *key,
                         const char *val);

/* Record "action" for "who" with the JSON object "detail" (borrowed; may
 * be NULL) on a pooled connection of "pool" of its own: call it with none
 * held. For sign-in events only (see above). Returns 0, or -1 when the row
 * could not be written (logged; the event stands). */
int audit_event(db_pool *pool, const audit_who *who, const char *action,
                const char *target_type, long long target_id, const cJSON *detail);

/* GET /api/v1/audit: up to "limit" entries of the actor's account that "f"
 * lets through (db_auth.h), newest first, as {"entries": [...],
 * "next_before": id or null} in *out (caller owns). An app's entry carries
 * "app_id" and "app_name" (its name when it acted) besides. Every entry
 * carries "target_name", its target's name now (null when none: no target,
 * gone, nameless), and "target_gone", true when the target no longer exists
 * (db_audit_target_names(): one statement for the page). SVC_OK, or the
 * failure in "e". */
MT_MUSTCHECK
svc_status audit_list(const svc_actor *a, const db_audit_filter *f, int limit, cJSON **out,
                      svc_error *e);

/* Tests only (POST /api/v1/test/audit-fail, METRON_TEST_ROUTES=1): make the
 * next "n" audit_write() calls fail with DB_ERROR, to show that a change
 * whose entry cannot be written does not happen. Thread-safe. */
void audit_fail_next(int n);

#endif
