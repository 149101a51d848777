#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "util/util.h"

Test(util, size_mul_detects_overflow)
{
    size_t r = 7;
    cr_assert(bl_size_mul(&r, 1000, 1000));
    cr_assert_eq(r, 1000000);
    cr_assert_not(bl_size_mul(&r, SIZE_MAX / 2, 3));
    cr_assert_eq(r, 1000000, "output untouched on overflow");
    cr_assert_not(bl_size_add(&r, SIZE_MAX, 1));
}

Test(util, little_endian_round_trip)
{
    uint8_t b[8];
    bl_put_u32(b, 0x11223344u);
    cr_assert_eq(b[0], 0x44);
    cr_assert_eq(bl_get_u32(b), 0x11223344u);
    bl_put_u64(b, 0x0102030405060708ull);
    cr_assert_eq(b[7], 0x01);
    cr_assert_eq(bl_get_u64(b), 0x0102030405060708ull);
    bl_put_f64(b, -2.5);
    cr_assert_eq(bl_get_f64(b), -2.5);
}

Test(util, err_set_and_prefix)
{
    bl_err err = {0};
    int rc = bl_err_set(&err, BL_EFORMAT, "page %d: truncated", 2);
    cr_assert_eq(rc, BL_EFORMAT);
    bl_err_prefix(&err, "%s", "a.tif");
    cr_assert_str_eq(err.msg, "a.tif: page 2: truncated");
    cr_assert_str_eq(bl_err_code_name(BL_ELIMIT), "limit");
}

Test(util, crc32_matches_reference)
{
    /* The standard check value of CRC-32/IEEE. */
    cr_assert_eq(bl_crc32(0, "123456789", 9), 0xCBF43926u);
}

Test(util, strlcpy_reports_truncation)
{
    char buf[4];
    cr_assert(bl_strlcpy(buf, "abc", sizeof buf));
    cr_assert_not(bl_strlcpy(buf, "abcd", sizeof buf));
    cr_assert_str_eq(buf, "abc");
}

Test(util, read_all_enforces_limit)
{
    uint8_t *data;
    size_t size;
    bl_err err = {0};
    cr_assert_eq(bl_file_read_all(BL_SOURCE_DIR "/CMakeLists.txt", 10, &data,
                                  &size, &err), BL_ELIMIT);
    cr_assert_null(data);
    cr_assert_eq(bl_file_read_all("/nonexistent/x", 10, &data, &size, &err),
                 BL_ENOENT);
    cr_assert(strstr(err.msg, "/nonexistent/x") != NULL);
}
