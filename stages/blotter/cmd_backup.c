/*
 * blotter backup: a consistent copy of the records database while the
 * pipeline runs.
 *
 *   blotter backup [--config FILE] [--db FILE] [--force] DEST
 *
 * Copying the file with cp while the writer commits can catch the
 * database and its -wal file at different moments, and a copy without the
 * -wal file lacks every commit not yet checkpointed. SQLite's online
 * backup API (sqlite3_backup_init/step/finish) instead reads the database
 * through SQLite, inside one read transaction: the copy is the database as
 * of one commit, WAL content included. The whole copy is taken in a
 * single step: stepping in chunks would let the writer's commits restart
 * the copy from the beginning again and again on a busy archive, while in
 * WAL mode one long read transaction does not hold the writer up (it only
 * keeps checkpoints from going past its snapshot until it ends).
 * Exit status: 0 copied, 1 failure, 2 bad usage.
 */
#include "blotter/backup.h"

#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blotter/commands.h"
#include "conf/conf.h"

/* A source that is busy (being opened or migrated by another process) is
 * tried again this many times, this many milliseconds apart. */
enum { BACKUP_TRIES = 50, BACKUP_WAIT_MS = 100 };

static int exec_int(sqlite3 *h, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* PRAGMA quick_check of the copy: "ok" or the first problem. */
static int check_copy(sqlite3 *h, const char *dst_path, bl_err *err)
{
    sqlite3_stmt *st = NULL;
    int ret = BL_OK;
    if (sqlite3_prepare_v2(h, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        ret = bl_err_set(err, BL_EDB, "%s: quick_check: %s", dst_path, sqlite3_errmsg(h));
        goto done;
    }
    const char *res = (const char *)sqlite3_column_text(st, 0);
    if (!res || strcmp(res, "ok") != 0)
        ret = bl_err_set(err, BL_EDB, "%s: the copy fails quick_check: %s", dst_path,
                         res ? res : "(no result)");
done:
    sqlite3_finalize(st);
    return ret;
}

int bl_backup_copy(const char *src_path, const char *dst_path, int force,
                   bl_backup_stats *out, bl_err *err)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b = NULL;
    char tmp[BL_PATH_MAX];
    int ret = BL_OK, made_tmp = 0;
    struct stat sb;
    memset(out, 0, sizeof *out);

    /* Read-only opening must not create an empty source by mistake. */
    if (stat(src_path, &sb) != 0)
        return bl_err_set(err, BL_ENOENT, "%s: no such database file", src_path);
    if (!force && stat(dst_path, &sb) == 0)
        return bl_err_set(err, BL_EINVAL, "%s: exists (--force replaces it)", dst_path);
    if (snprintf(tmp, sizeof tmp, "%s.partial-%ld", dst_path, (long)getpid()) >=
        (int)sizeof tmp)
        return bl_err_set(err, BL_EINVAL, "%s: path too long", dst_path);

    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        ret = bl_err_set(err, BL_EDB, "%s: %s", src_path,
                         src ? sqlite3_errmsg(src) : "cannot open");
        goto done;
    }
    sqlite3_busy_timeout(src, BACKUP_WAIT_MS * BACKUP_TRIES);
    int64_t version = 0;
    if (exec_int(src, "PRAGMA user_version", &version) != SQLITE_OK) {
        ret = bl_err_set(err, BL_EDB, "%s: %s", src_path, sqlite3_errmsg(src));
        goto done;
    }
    if (version < 1) {
        ret = bl_err_set(err, BL_EFORMAT, "%s: not a blotter database (schema version 0)",
                         src_path);
        goto done;
    }

    unlink(tmp); /* a leftover of a killed run with the same pid */
    made_tmp = 1;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        ret = bl_err_set(err, BL_EIO, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "cannot create");
        goto done;
    }
    int rc = SQLITE_BUSY;
    for (int attempt = 1; attempt <= BACKUP_TRIES; attempt++) {
        out->attempts = attempt;
        b = sqlite3_backup_init(dst, "main", src, "main");
        if (!b) {
            ret = bl_err_set(err, BL_EDB, "%s: %s", tmp, sqlite3_errmsg(dst));
            goto done;
        }
        rc = sqlite3_backup_step(b, -1);
        out->pages = sqlite3_backup_pagecount(b);
        int frc = sqlite3_backup_finish(b);
        b = NULL;
        if (rc == SQLITE_DONE)
            rc = frc;
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        sqlite3_sleep(BACKUP_WAIT_MS);
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) {
        ret = bl_err_set(err, BL_EDB, "%s -> %s: backup failed: %s", src_path, tmp,
                         sqlite3_errstr(rc));
        goto done;
    }
    /* The source runs in WAL mode and the copy inherits it; a backup is
     * better one self-contained file (blotter turns WAL on again when it
     * opens a restored copy for writing). */
    int64_t ignored = 0;
    if (exec_int(dst, "PRAGMA journal_mode = DELETE", &ignored) != SQLITE_OK ||
        exec_int(dst, "PRAGMA page_size", &out->page_size) != SQLITE_OK ||
        exec_int(dst, "PRAGMA user_version", &out->schema_version) != SQLITE_OK) {
        ret = bl_err_set(err, BL_EDB, "%s: %s", tmp, sqlite3_errmsg(dst));
        goto done;
    }
    ret = check_copy(dst, tmp, err);
    if (ret)
        goto done;
    if (sqlite3_close(dst) != SQLITE_OK) {
        ret = bl_err_set(err, BL_EDB, "%s: close: %s", tmp, sqlite3_errmsg(dst));
        goto done;
    }
    dst = NULL;
    if (rename(tmp, dst_path) != 0) {
        ret = bl_err_set(err, BL_EIO, "%s: %s", dst_path, strerror(errno));
        goto done;
    }
    made_tmp = 0;
done:
    if (b)
        sqlite3_backup_finish(b);
    sqlite3_close(dst);
    sqlite3_close(src);
    if (made_tmp)
        unlink(tmp);
    return ret;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: blotter backup [--config FILE] [--db FILE] [--force] DEST\n"
            "  copies the records database into DEST as one consistent snapshot,\n"
            "  safe while the pipeline writes (SQLite's online backup)\n"
            "  --config FILE  pipeline configuration naming the database\n"
            "  --db FILE      database (default: [pipeline] database of the\n"
            "                 configuration)\n"
            "  --force        replace DEST if it exists\n");
}

int bl_cmd_backup(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'C'},
        {"db", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *db = NULL;
    int force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'C': config = optarg; break;
        case 'd': db = optarg; break;
        case 'f': force = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *dest = argv[optind];
    bl_conf conf;
    if (!db) {
        char path[BL_PATH_MAX];
        bl_err cerr = {0};
        bl_conf_defaults(&conf);
        bl_conf_locate(config, path, sizeof path);
        if (path[0] && bl_conf_load(&conf, path, &cerr)) {
            fprintf(stderr, "blotter backup: %s\n", cerr.msg);
            return 2;
        }
        if (!conf.database[0]) {
            fprintf(stderr, "blotter backup: no --db and no [pipeline] database in %s\n",
                    path[0] ? path : "the configuration");
            return 2;
        }
        db = conf.database;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bl_backup_stats st;
    bl_err err = {0};
    if (bl_backup_copy(db, dest, force, &st, &err) != BL_OK) {
        fprintf(stderr, "blotter backup: %s\n", err.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("backup: %s -> %s: %lld database pages of %lld bytes (%.1f MiB), schema version %lld, "
           "quick_check ok, %.2f s\n",
           db, dest, (long long)st.pages, (long long)st.page_size,
           (double)(st.pages * st.page_size) / (1024.0 * 1024.0),
           (long long)st.schema_version, secs);
    return 0;
}
