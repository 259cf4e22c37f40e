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

/* One outbox row to insert. */
typedef struct {
    long long account_id;
    long long message_id; /* 0: a new one (nextval of notify_message_seq) */
    const char *key;
    const db_notify_target *to; /* db_outbox_insert() */
    const char *email;          /* user/email targets: the address */
    const char *kind;
    const char *language;       /* db_outbox_insert_to(): NULL = the target's */
    const char *severity;
    const char *title;
    const char *body;
    const char *fields_json;    /* [{"name":..,"value":..}] */
    const char *link_url;       /* NULL = none */
    const char *link_label;     /* NULL = none */
    bool sensitive;
    long long attach_file_id; /* a drive file sent with an e-mail (0 = none) */
    const char *attach_name;
    const char *attach_type;
    long long expires_at; /* Unix seconds: not sent from then on (0 = never; 050) */
    bool interactive;     /* a person waits for it: claimed before other due rows (051) */
} db_outbox_row;

/* Insert "row" for its resolved target row->to unless (account, key,
 * target) exists: *inserted says which; on insertion *id and *message_id
 * are the new row's. */
db_status db_outbox_insert(db_conn *c, const db_outbox_row *row, long long *id,
                           long long *message_id, bool *inserted);

/* The same in one statement without resolving first: for destination
 * ("recipient" false) or system notification recipient "ref", if it is
 * enabled in the account; the row takes the target's kind and, with
 * row->language NULL, its language. *inserted false: the target is missing
 * or disabled, or already has the key (db_outbox_existing() tells). */
db_status db_outbox_insert_to(db_conn *c, const db_outbox_row *row, bool recipient,
                              long long ref, long long *id, long long *message_id,
                              bool *inserted);

/* The message id of the row of ("key", "target"), *found false when there
 * is none. */
db_status db_outbox_existing(db_conn *c, long long account_id, const char *key,
                             const char *target, long long *message_id, bool *found);

/* ------------------------------------------------------------ delivery log */

/* An outbox row as the API shows it. "body" and "link_url" are NULL for a
 * sensitive row. "address" is the target's current address (destination,
 * recipient) or the e-mail address (user, email); NULL when the
 * destination or recipient is gone. */
typedef struct {
    long long id;
    long long message_id;
    char *kind;
    char *key;
    char *target_type;
    long long destination_id; /* 0 = none */
    long long recipient_id;
    long long user_id;
    char *channel;
    char *address;
    char *language;
    char *severity;
    char *title;
    char *body;
    char *fields; /* JSON text */
    char *link_url;
    char *link_label;
    bool sensitive;
    char *state;
    long long attempts;
    long long failures;
    char *next_at;
    char *created_at;
    char *sent_at;
    char *last_error;
} db_delivery;

/* Which rows to list: 0 / NULL members are not filtered on. Newest first,
 * ids below "before_id" (0 = from the newest), at most "limit". */
typedef struct {
    long long destination_id;
    long long recipient_id;
    long long message_id;
    const char *state;
    const char *kind;
    long long before_id;
    int limit;
} db_delivery_filter;

db_status db_delivery_list(db_conn *c, long long account_id, const db_delivery_filter *f,
                           db_delivery **out, int *n);
db_status db_delivery_get(db_conn *c, long long account_id, long long id, db_delivery *out,
                          bool *found);
void db_delivery_free(db_delivery *rows, int n);
void db_delivery_clear(db_delivery *row);

/* Queue row "id" again (an operator's retry): from dead or cancelled to
 * retry, due now, its failures counted from 0; not a sensitive row (its
 * text was erased). *state_out gets the row's state before (NULL when
 * there is no such row; caller frees); *done whether it was queued. */
db_status db_delivery_requeue(db_conn *c, long long account_id, long long id, char **state_out,
                              bool *sensitive, bool *done);

/* One attempt of the delivery log (outcome NULL = in flight). */
typedef struct {
    long long n;
    char *owner;
    char *started_at;
    char *ended_at;
    char *duration_ms; /* decimal text, NULL while in flight */
    char *outcome;
    long long status;  /* 0 = none */
    char *response;
    char *error;
} db_attempt;

/* The attempts of outbox row "outbox_id", first first. */
db_status db_attempt_list(db_conn *c, long long account_id, long long outbox_id,
                          db_attempt **out, int *n);
void db_attempt_free(db_attempt *rows, int n);

/* ---------------------------------------------------------------- senders */

/* A row claimed for sending (notify_claim() of migration 013). */
typedef struct {
    long long id;
    long long account_id;
    long long attempt_id;
    long long attempt; /* 1 = first */
    long long failures;
    char *channel;     /* email, slack, teams, wechat (the target's kind now) */
    char *address;     /* e-mail address or webhook URL, as it is now */
    long long message_id;
    char *kind;
    char *key;
    char *language;
    char *severity;
    char *title;
    char *body;
    char *fields;      /* JSON text */
    char *link_url;
    char *link_label;
    char *created_at;
} db_outbox_job;

/* The attempts in flight that a claim allows (docs/notify.md, "Order and
 * receivers in flight"; each at least 1). */
typedef struct {
    int receiver;     /* per webhook destination or recipient */
    int mail;         /* every mail together (the one relay) */
    int host;         /* per receiving host (a webhook URL's host and port) whose last
                       * attempt ended without an answer (notify_host_health) */
    int healthy_host; /* per other receiving host */
    int account;      /* per account, its webhooks of every host together (not mail) */
    int account_host; /* per account and receiving host: fewer than "account", so that
                       * one host never holds all of an account's share (065) */
    int account_trouble; /* per account, its receiving hosts in trouble together: fewer
                          * than "account", so that hosts in trouble never hold all of
                          * an account's share (075) */
    int slow_ms; /* an attempt in flight this long (ms) counts its host as in trouble for
                  * "account_trouble", and the account's other receivers keep their slot
                  * beside hosts in trouble beyond their share (079) */
} db_outbox_limits;

/* Claim up to "limit" due rows for sender "owner" with a lease of
 * "lease_ms" (see notify_claim() in migrations 013, 050, 051, 056, 058, 059,
 * 065, 075 and 079 for cancellation, lost leases, rate slots, expiry and order;
 * "rate_ms" = email, slack, teams, wechat), interactive rows first,
 * skipping the rows of a receiver, host, account or account's host with its
 * limit of attempts in flight ("limits", in every process). One statement in its
 * own transaction (do not call inside one). */
db_status db_outbox_claim(db_conn *c, const char *owner, int limit, int lease_ms,
                          const int rate_ms[4], int max_failures, const db_outbox_limits *limits,
                          db_outbox_job **out, int *n);
void db_outbox_job_free(db_outbox_job *rows, int n);

/* The attachment of outbox row "id" (018_reports.sql): *file_id 0 when
 * none (or its drive file was deleted), *blob_id its bytes (db_files.h; 0
 * while they are not in the store); "name" 256 and "type" 104 bytes. */
db_status db_outbox_attachment(db_conn *c, long long account_id, long long id,
                               long long *file_id, long long *blob_id, char *name, char *type);

/* The end of an attempt. */
typedef struct {
    const char *outcome;   /* sent, failed, throttled, timeout */
    double duration_ms;
    int status;            /* HTTP status or SMTP code; 0 = none */
    const char *response;  /* at most 500 characters, or NULL */
    const char *error;     /* at most 500 characters, or NULL */
    const char *state;     /* the row's next state: sent, retry, dead */
    long long delay_ms;    /* retry: due again after this */
    int failed;            /* 1 when this attempt counts as a failure */
} db_outbox_result;

/* Record the end of attempt "attempt_id" of row "id" and move the row to
 * r->state, if "owner" still holds its lease (*still_ours false when the
 * lease ran out and the row was taken again: the attempt is still
 * recorded). */
db_status db_outbox_finish(db_conn *c, const db_outbox_job *job, const char *owner,
                           const db_outbox_result *r, bool *still_ours);

/* Give row "job" back unsent (its attempt row removed, due now): a sender
 * that stops, or that would not finish within its lease. */
db_status db_outbox_give_back(db_conn *c, const db_outbox_job *job, const char *owner);

/* The receiver "channel"/"address" of "account_id" may not be called again
 * before "delay_ms" from now (a 429 and its Retry-After). */
db_status db_outbox_rate_push(db_conn *c, long long account_id, const char *channel,
                              const char *address, long long delay_ms);

/* Retention (the background job "notify_outbox"): delete at most "max"
 * rows that ended (sent, dead, cancelled) before "before_epoch" seconds,
 * with their attempts, and rate slots unused for a day; *done = rows
 * deleted. */
db_status db_outbox_purge(db_conn *c, long long before_epoch, int max, long long *done);

/* Cancel the queued and retry rows past their expiry (migration 050) and
 * erase a sensitive one's text; *done = rows cancelled. The claim does the
 * same for the rows it meets: this is for rows no sender looks at. */
db_status db_outbox_expire(db_conn *c, long long *done);

#endif
