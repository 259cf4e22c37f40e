/* Storage of the demo data (--demo). */
#ifndef MTS_DB_DEMO_H
#define MTS_DB_DEMO_H

#include <stdbool.h>

#include "db.h"

typedef struct {
    const char *account_login; /* NULL for a trial account (e-mail login) */
    const char *alt_login;     /* Pro's alternative login ID, or NULL */
    const char *name;
    const char *plan;          /* trial, free, standard, pro */
    const char *user_login;
    const char *user_email;
    const char *password_hash; /* argon2id, encoded */
} demo_account;

/* Create account "a" with its administrator, a measurement group, an app, a
 * device and four channels, in one transaction; nothing when an account
 * with that login (or, for a trial, that e-mail) exists (*created false). */
db_status db_demo_seed(db_pool *pool, const demo_account *a, bool *created);

#endif
