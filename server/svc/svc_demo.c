#define _POSIX_C_SOURCE 200809L
#include "svc_demo.h"

#include <stdio.h>

#include "auth_password.h"
#include "db_demo.h"
#include "log.h"

/* Public demo credentials: printed on purpose, never used outside --demo. */
#define DEMO_PASSWORD "Demo-pass1"

static const demo_account demo_accounts[] = {
    {NULL, NULL, "Demo Trial", "trial", "trial@demo.metron.test", "trial@demo.metron.test",
     NULL},
    {"demo-free", NULL, "Demo Free", "free", "admin", "admin@free.demo.metron.test", NULL},
    {"demo-standard", NULL, "Demo Standard", "standard", "admin",
     "admin@standard.demo.metron.test", NULL},
    {"demo-pro", "pro-demo", "Demo Pro", "pro", "admin", "admin@pro.demo.metron.test", NULL},
};

int svc_demo_seed(srv *s)
{
    for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
        demo_account a = demo_accounts[i];
        char hash[PASSWORD_HASH_CAP];
        bool created = false;
        db_status st;
        if (password_check_policy(DEMO_PASSWORD, a.user_login) != PW_OK ||
            password_hash(DEMO_PASSWORD, hash, sizeof hash) != 0) {
            log_error("demo: cannot hash the demo password");
            return -1;
        }
        a.password_hash = hash;
        st = db_demo_seed(s->pool, &a, &created);
        if (st != DB_OK) {
            log_error("demo: creating %s failed: %s", a.name, db_strerror(st));
            return -1;
        }
        if (created) {
            log_info("demo: created account %s (%s)", a.name, a.plan);
        }
    }
    return 0;
}

void svc_demo_print_logins(void)
{
    printf("Demo logins (password for all: %s)\n", DEMO_PASSWORD);
    printf("  %-9s %-24s %s\n", "plan", "account ID", "user ID");
    for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
        const demo_account *a = &demo_accounts[i];
        char account[64];
        if (a->account_login == NULL) {
            snprintf(account, sizeof account, "(none: e-mail login)");
        } else if (a->alt_login != NULL) {
            snprintf(account, sizeof account, "%s or %s", a->account_login, a->alt_login);
        } else {
            snprintf(account, sizeof account, "%s", a->account_login);
        }
        printf("  %-9s %-24s %s\n", a->plan, account, a->user_login);
    }
    fflush(stdout);
}
