/*
 * The records layer (common/db/records.c, schema/004_records.sql): digit
 * pixels and rules stored, models registered from pages, reviews shown by
 * v_fields with their provenance, and the append-only audit trail.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "db/records.h"
#include "db_fixture.h"

static char dir[FX_PATH_MAX];
static char db_path[FX_PATH_MAX];
static bl_db *db;

static void setup(void)
{
    fx_dir_make(dir, db_path);
    bl_err err = {0};
    db = bl_db_open(db_path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    fx_work x;
    const char *values[] = {"407", "1?"};
    fx_work_init(&x, "b1", "a.tif", 1, 2, values, NULL);
    bl_strlcpy(x.fields[0].rule, "len=3;range=100-500", sizeof x.fields[0].rule);
    for (int i = 0; i < BL_MNIST_PIXELS; i++)
        x.digits[0].pixels[i] = (uint8_t)i;
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err), BL_OK,
                 "%s", err.msg);
}

static void teardown(void)
{
    bl_db_close(&db);
    fx_dir_remove(dir);
}

TestSuite(records, .init = setup, .fini = teardown);

static long long field_id(int index)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT id FROM fields WHERE field_index = %d", index);
    return fx_count(db_path, sql);
}

Test(records, stores_digit_pixels_and_the_rule)
{
    sqlite3 *h = bl_db_handle(db);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "SELECT g.pixels, f.rule FROM digits g JOIN fields f"
                                    " ON f.id = g.field_id WHERE f.field_index = 0"
                                    " AND g.digit_index = 0",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_bytes(st, 0), BL_MNIST_PIXELS);
    const uint8_t *px = sqlite3_column_blob(st, 0);
    cr_expect_eq(px[300], (uint8_t)300);
    cr_expect_str_eq((const char *)sqlite3_column_text(st, 1), "len=3;range=100-500");
    sqlite3_finalize(st);
}

Test(records, pages_register_their_models)
{
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM models"), 2);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM models WHERE id = 'cnn-3'"
                                   " AND stage = 'classify'"),
                 1);
    bl_err err = {0};
    cr_assert_eq(bl_db_model_note(db, "classify", "cnn-3", "models/x.blm", &err), BL_OK);
    cr_assert_eq(bl_db_model_note(db, "write", "gate@1:00c0ffee", NULL, &err), BL_OK);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM models WHERE path = 'models/x.blm'"),
                 1);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM models WHERE crc = '00c0ffee'"), 1);
}

Test(records, a_review_changes_the_view_not_the_machine_reading)
{
    bl_err err = {0};
    long long id = field_id(1);
    cr_assert_eq(bl_db_review_add(db, id, "ann", "1?", "17", "sheet.csv", &err), BL_OK,
                 "%s", err.msg);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM v_fields WHERE value = '17'"
                                   " AND machine_value = '1?' AND review_state = 'corrected'"
                                   " AND reviewed_by = 'ann' AND review_source = 'sheet.csv'"),
                 1);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM fields WHERE value = '1?'"), 1);
    /* The newest review wins; the first stays queryable. */
    cr_assert_eq(bl_db_review_add(db, id, "bob", "17", "18", "s2.json", &err), BL_OK);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM v_fields WHERE value = '18'"), 1);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM reviews"), 2);
    /* Confirming the machine reading. */
    cr_assert_eq(bl_db_review_add(db, field_id(0), "ann", "407", "407", "s", &err), BL_OK);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM v_fields"
                                   " WHERE review_state = 'confirmed'"),
                 1);
}

Test(records, a_review_must_be_digits_of_an_existing_field)
{
    bl_err err = {0};
    cr_expect_eq(bl_db_review_add(db, field_id(1), "ann", "1?", "1a", "s", &err), BL_EINVAL);
    cr_expect_eq(bl_db_review_add(db, field_id(1), "ann", "1?", "", "s", &err), BL_EINVAL);
    cr_expect_eq(bl_db_review_add(db, 99999, "ann", "1?", "12", "s", &err), BL_ENOENT);
    cr_expect(strstr(err.msg, "99999"), "%s", err.msg);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM reviews"), 0);
}

Test(records, the_view_keeps_its_first_columns)
{
    sqlite3 *h = bl_db_handle(db);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT * FROM v_fields", -1, &st, NULL), SQLITE_OK);
    static const char *const first[] = {
        "batch", "source_path", "page_index", "field_name", "value", "confidence",
        "needs_review", "x", "y", "w", "h", "field_index", "px", "py", "pw", "ph",
        "model_classify", "model_write", "stored_at", "field_id", "page_id", "document_id"};
    for (int i = 0; i < (int)(sizeof first / sizeof first[0]); i++)
        cr_expect_str_eq(sqlite3_column_name(st, i), first[i]);
    sqlite3_finalize(st);
}

Test(records, audit_is_append_only)
{
    bl_err err = {0};
    setenv("BLOTTER_USER", "clerk7", 1);
    cr_assert_eq(bl_db_audit(db, "query", "{\"batch\":\"b1\"}", 3, &err), BL_OK, "%s",
                 err.msg);
    unsetenv("BLOTTER_USER");
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM audit WHERE who = 'clerk7'"
                                   " AND command = 'query' AND row_count = 3"),
                 1);
    sqlite3 *h = bl_db_handle(db);
    cr_expect_neq(sqlite3_exec(h, "UPDATE audit SET who = 'x'", NULL, NULL, NULL), SQLITE_OK);
    cr_expect(strstr(sqlite3_errmsg(h), "append-only"), "%s", sqlite3_errmsg(h));
    cr_expect_neq(sqlite3_exec(h, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM audit"), 1);
    char who[64];
    cr_expect_str_neq(bl_db_audit_who(who, sizeof who), "");
}

Test(records, open_existing_never_creates)
{
    char missing[FX_PATH_MAX + 16];
    snprintf(missing, sizeof missing, "%s/none.db", dir);
    bl_err err = {0};
    cr_expect_null(bl_db_open_existing(missing, &err));
    cr_expect_eq(err.code, BL_ENOENT);
    cr_expect_neq(access(missing, F_OK), 0);
}
