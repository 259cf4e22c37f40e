/* The drive: retention and sweeps. L5 on accounts that are Free now, the
 * blobs nobody recorded, and the tests' storage figure
 * (svc_drive_internal.h). */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>

#include "db_drive.h"
#include "db_storage.h"
#include "log.h"
#include "mt/caltime.h"
#include "mt/licence.h"
#include "svc_drive_internal.h"

/* L5 for one account: delete its files created before "cutoff". */
static svc_status retention_account(db_pool *pool, long long account_id, const char *cutoff,
                                    svc_drive_cleanup_stats *stats, svc_error *e)
{
    db_conn *c = NULL;
    long long *ids = NULL, freed = 0;
    int n = 0;
    svc_status rc;
    if ((rc = drive_tx_lock(pool, account_id, &c, e)) != SVC_OK) {
        goto out;
    }
    /* Each file's blob goes with its row (a trigger). */
    TRY_DB(db_drive_delete_old_files(c, account_id, cutoff, &ids, &n, &freed));
    if (freed > 0) {
        TRY_DB(db_storage_add_drive(c, account_id, -freed));
    }
out:
    rc = drive_tx_end(pool, c, rc, e);
    if (rc == SVC_OK && n > 0) {
        stats->accounts++;
        stats->files_deleted += n;
        stats->bytes_freed += freed;
        log_info("drive: retention deleted %d files (%lld bytes) of account %lld", n, freed,
                 account_id);
    }
    free(ids);
    return rc;
}

/* Whether the account's plan in force at "now_us" is Free. */
static bool free_now(const db_drive_account *acc, int64_t now_us)
{
    mt_plan stored, eff;
    mt_day expiry;
    mt_error err;
    if (mt_plan_from_name(acc->plan, &stored, &err) != MT_OK) {
        return false;
    }
    eff = stored;
    if (acc->expiry != NULL && mt_cal_parse_date(acc->expiry, &expiry, &err) == MT_OK &&
        mt_licence_effective_plan(stored, expiry, now_us, &eff, &err) != MT_OK) {
        eff = stored;
    }
    return eff == MT_PLAN_FREE;
}

/* Blobs swept per statement (the next round goes on). */
#define SWEEP_LIMIT 1000

svc_status svc_drive_cleanup(db_pool *pool, int64_t now_us, int64_t grace_s,
                             svc_drive_cleanup_stats *stats, svc_error *e)
{
    db_conn *c = NULL;
    db_drive_account *accs = NULL;
    int n_accs = 0;
    mt_day today, cutoff_day;
    mt_error err;
    char cutoff[MT_CAL_INSTANT_LEN];
    svc_status rc = SVC_OK;
    db_status st;
    long long swept = 0;

    memset(stats, 0, sizeof *stats);
    if (mt_cal_day_of(now_us, &today, &err) != MT_OK ||
        mt_licence_retention_cutoff(today, &cutoff_day, &err) != MT_OK ||
        mt_cal_format_instant(mt_cal_day_start(cutoff_day), cutoff, sizeof cutoff, &err) !=
            MT_OK) {
        return svc_fail(e, SVC_DB, NULL, NULL, "retention cutoff: %s", err.msg);
    }

    /* 1. L5 retention on accounts that are Free now. */
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    st = db_drive_retention_accounts(c, cutoff, &accs, &n_accs);
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    for (int i = 0; i < n_accs && rc == SVC_OK; i++) {
        if (free_now(&accs[i], now_us)) {
            rc = retention_account(pool, accs[i].id, cutoff, stats, e);
        }
    }
    db_drive_accounts_free(accs, n_accs);
    if (rc != SVC_OK) {
        return rc;
    }

    /* 2. Blobs nobody recorded (uploads, exports and report files that
     *    never finished). */
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    st = db_file_sweep(c, grace_s, SWEEP_LIMIT, &swept);
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    stats->orphans_removed = swept;
    if (swept > 0) {
        log_info("drive: the sweep removed %lld unfinished files from the database", swept);
    }
    return SVC_OK;
}

svc_status svc_drive_test_set_data_bytes(db_pool *pool, long long account_id, long long bytes,
                                      svc_error *e)
{
    db_conn *c = NULL;
    bool exists = false;
    db_status st = db_acquire(pool, DB_WAIT_MS, &c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if ((st = db_drive_account_exists(c, account_id, &exists)) == DB_OK && exists) {
        st = db_drive_test_set_data_bytes(c, account_id, bytes);
    }
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    return exists ? SVC_OK : svc_fail(e, SVC_NOT_FOUND, "not_found", "account_id", "no such account");
}
