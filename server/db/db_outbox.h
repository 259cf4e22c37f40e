/* Storage of the outbox (migration 013; docs/notify.md): the rows that
 * svc_notify_enqueue() writes, the claims and results of the sender
 * threads, and the delivery log the API shows.
 *
 * Every function takes a connection the caller acquired; every statement
 * filters by account except the senders' claim (which serves all accounts).
 * Strings in returned structs are heap copies (free with the matching
 * _free() or _clear() function); times are ISO 8601 UTC strings. */
#ifndef MTS_DB_OUTBOX_H
#define MTS_DB_OUTBOX_H

#include <stdbool.h>

#include "db.h"

/* ---------------------------------------------------------------- enqueue */

/* A resolved recipient of a message. */
typedef struct {
    char *target;   /* "d:12", "r:3", "u:7", "e:<address>" */
    char *type;     /* destination, recipient, user, email */
    long long ref;  /* destination, recipient or user id (0 for email) */
    char *channel;  /* email, slack, teams, wechat */
    char *language; /* the target's own language */
    char *email;    /* user: their address (NULL without one) */
    bool usable;    /* enabled (and, for a user, not disabled and with an e-mail) */
} db_notify_target;

/* The destination "id" (*n = 0 or 1). */
db_status db_outbox_target_destination(db_conn *c, long long account_id, long long id,
                                       db_notify_target **out, int *n);
/* The system notification recipient "id" (*n = 0 or 1). */
db_status db_outbox_target_recipient(db_conn *c, long long account_id, long long id,
                                     db_notify_target **out, int *n);
/* Every enabled system notification recipient of the account, by id. */
db_status db_outbox_target_system(db_conn *c, long long account_id, db_notify_target **out,
                                  int *n);
/* The user "id" (*n = 0 or 1); language = the user's, else the account's. */
db_status db_outbox_target_user(db_conn *c, long long account_id, long long id,
                                db_notify_target **out, int *n);
void db_notify_target_free(db_notify_target *rows, int n);

/* The account's language into "out" ("en" when there is no such account). */
db_status db_outbox_account_language(db_conn *c, long long account_id, char out[8]);

/* The message id that rows of "key" already have, or a new one. */
db_status db_outbox_message_id(db_conn *c, long long account_id, const char *key,
                               long long *out);

/* One outbox row to insert. */
typedef struct {
    long long account_id;
    long long message_id;
    const char *key;
    const db_notify_target *to;
    const char *email; /* user/email targets: the address */
    const char *kind;
    const char *language;
    const char *severity;
    const char *title;
    const char *body;
    const char *fields_json; /* [{"name":..,"value":..}] */
    const char *link_url;    /* NULL = none */
    const char *link_label;  /* NULL = none */
    bool sensitive;
} db_outbox_row;

/* Insert "row" unless its (account, key, target) exists: *inserted says
 * which. */
db_status db_outbox_insert(db_conn *c, const db_outbox_row *row, bool *inserted);

#endif
