/* Storage of the demo data (--demo). */
#ifndef MTS_DB_DEMO_H
#define MTS_DB_DEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

typedef struct {
    const char *account_login; /* NULL for a trial account (e-mail login) */
    const char *alt_login;     /* Pro's alternative login ID, or NULL */
    const char *name;
    const char *plan;          /* trial, free, standard, pro */
    const char *user_login;
    const char *user_email;
    const char *password_hash; /* argon2id, encoded */
    int n_channels;            /* 0: the four of every demo; else that many, all acquired */
} demo_account;

#define DEMO_MAX_CHANNELS 32

/* The rows made for a demo account, for its history (svc_demo.c). */
typedef struct {
    long long account_id;
    long long app_id;
    long long channel[DEMO_MAX_CHANNELS]; /* the acquired channels, in position order */
    int n_channel;
} demo_ids;

/* One channel of a demo device with more than the four usual ones. */
typedef struct {
    const char *key;
    const char *name;
    const char *unit;
    int decimals; /* as its values are shown; -1 automatic */
} demo_channel;

/* The channels of the Pro demo (demo_channels_n of them). */
extern const demo_channel demo_channels[];
extern const int demo_channels_n;

/* Create account "a" with its administrator, a measurement group, an app, a
 * device and its channels (four, two of them acquired, or a->n_channels of
 * demo_channels[], all acquired), in one transaction; nothing when an
 * account with that login (or, for a trial, that e-mail) exists (*created
 * false). *ids (may be NULL) gets the new rows' ids. */
db_status db_demo_seed(db_pool *pool, const demo_account *a, bool *created, demo_ids *ids);

/* The demo app "app_id" of account "account_id" was last heard from at
 * "last_us" (its history ends there), and is connected. */
db_status db_demo_app_seen(db_conn *c, long long account_id, long long app_id, int64_t last_us);

#endif
