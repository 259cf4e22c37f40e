/* --demo: one demo account per plan (trial, free, standard, pro), each with
 * an administrator, a measurement group, an app, a device and channels. */
#ifndef MTS_SVC_DEMO_H
#define MTS_SVC_DEMO_H

#include "srv.h"

/* Create the demo accounts that do not exist yet. Returns 0 or -1 (logged). */
int svc_demo_seed(srv *s);

/* Print the demo logins to stdout. */
void svc_demo_print_logins(void);

#endif
