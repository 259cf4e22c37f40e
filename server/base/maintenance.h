/* Maintenance windows (O1; docs/operations.md "Maintenance windows"): the
 * schedule each server process keeps in memory, so that it holds while
 * PostgreSQL itself is down for the maintenance. Loaded from the table
 * maintenance_windows (025_operations.sql) at start, after every change the
 * operator makes through this process, and at every round of the jobs
 * (svc_ops_maintenance_reload()). No libpq, no CivetWeb. Thread-safe: the
 * API's gate reads it on every request (one atomic load while nothing is
 * scheduled). */
#ifndef MTS_MAINTENANCE_H
#define MTS_MAINTENANCE_H

#include <stdbool.h>
#include <stdint.h>

/* Windows kept at most (the earliest open ones). */
#define MAINT_MAX 16

typedef struct {
    long long id;
    int64_t announce_at; /* Unix seconds: the portal's banner from here */
    int64_t starts_at;   /* the API answers 503 maintenance from here */
    int64_t ends_at;     /* ... until here */
} maint_window;

/* Replace the schedule by "w" ("n" <= MAINT_MAX windows, any order). */
void maint_set(const maint_window *w, int n);

/* The window to tell people about at "now" (Unix seconds): the earliest
 * with announce_at <= now < ends_at. Returns false when there is none. */
bool maint_current(int64_t now, maint_window *out);

/* Whether the API is in a window at "now" (starts_at <= now < ends_at);
 * then *ends_at is when the (latest overlapping) window ends. */
bool maint_active(int64_t now, int64_t *ends_at);

#endif
