/* The writer's validation rules (stages/write/rules.c). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "write/rules.h"

/* Arrays, not pointers: Criterion runs each case in a new process image. */
typedef struct rule_case {
    char rule[64], value[24];
    int checked, failed;
} rule_case;

static rule_case cases[] = {
    {"", "123", 0, 0},
    {"color=blue", "123", 0, 0},
    {"len=3", "123", 1, 0},
    {"len=3", "1234", 1, 1},
    {"len=2-4", "12", 1, 0},
    {"len=2-4", "12345", 1, 1},
    {"range=1-31", "31", 1, 0},
    {"range=1-31", "32", 1, 1},
    {"range=1-31", "00", 1, 1},
    {"range=1-31", "3?", 1, 1},
    {"date=DDMMYYYY", "29021960", 1, 0},
    {"date=DDMMYYYY", "29021900", 1, 1},
    {"date=DDMMYYYY", "29022000", 1, 0},
    {"date=DDMMYYYY", "31041954", 1, 1},
    {"date=DDMMYYYY", "00011954", 1, 1},
    {"date=DDMMYYYY", "0101195", 1, 1},
    {"date=DDMMYY", "311254", 1, 0},
    {"date=DDMMYY", "311354", 1, 1},
    {"time=HHMM", "2359", 1, 0},
    {"time=HHMM", "2400", 1, 1},
    {"time=HHMM", "1260", 1, 1},
    {"check=luhn", "79927398713", 1, 0},
    {"check=luhn", "79927398710", 1, 1},
    /* mod 11: payload 123456, weights 2..7 from the right:
     * 6*2+5*3+4*4+3*5+2*6+1*7 = 77, 77 % 11 = 0, check (11-0)%11 = 0. */
    {"check=mod11", "1234560", 1, 0},
    {"check=mod11", "1234561", 1, 1},
    /* payload 10: 0*2+1*3 = 3, check 8. */
    {"check=mod11", "108", 1, 0},
    /* payload 5: 5*2 = 10, check (11-10)%11 = 1. */
    {"check=mod11", "51", 1, 0},
    /* payload 19: 9*2+1*3 = 21, 21%11 = 10, check 1. payload 4: 8, check 3.
     * payload 6: 12%11=1, check 10: no valid check digit at all. */
    {"check=mod11", "60", 1, 1},
    /* years= narrows the date and is not a rule of its own. */
    {"date=DDMMYYYY;years=1900-2029", "14011993", 1, 0},
    {"date=DDMMYYYY;years=1900-2029", "14015993", 1, 1},
    {"years=1900-2029;date=DDMMYYYY", "24091473", 1, 1},
    {"date=DDMMYYYY;years=1900-2029", "31022000", 1, 1},
    {"date=DDMMYY;years=1950-1999", "311254", 1, 0},
    {"date=DDMMYY;years=1950-1959", "311264", 1, 1},
    {"date=DDMMYY;years=1995-2004", "010103", 1, 0},
    {"years=1900-2029", "14015993", 0, 0},
    {"len=8;date=DDMMYYYY", "31121999", 2, 0},
    {"len=10;prefix=0", "0270477523", 2, 0},
    {"len=10;prefix=0", "2270477523", 2, 1},
    {"prefix=01", "0170477523", 1, 0},
    {"prefix=01", "0", 1, 1},
    {"len=8;date=DDMMYYYY", "3112199", 2, 2},
    {"len=4;range=1000-1999;unknown=x", "1500", 2, 0},
    {"len=x", "1", 0, 0},
};

ParameterizedTestParameters(rules, table)
{
    return cr_make_param_array(rule_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(rule_case *c, rules, table)
{
    bl_rule_result r;
    bl_rules_check(c->rule, c->value, &r);
    cr_expect_eq(r.checked, c->checked, "%s on %s: checked %d", c->rule, c->value,
                 r.checked);
    cr_expect_eq(r.failed, c->failed, "%s on %s: failed %d", c->rule, c->value, r.failed);
}

Test(rules, reports_malformed_parameters)
{
    bl_rule_result r;
    bl_rules_check("len=;range=9-1;date=YYYY;check=crc;years=1999;prefix=a", "12", &r);
    cr_expect_eq(r.malformed, 6);
    cr_expect_eq(r.checked, 0);
}

Test(rules, failed_mask_names_the_rule)
{
    bl_rule_result r;
    bl_rules_check("len=4;time=HHMM", "2460", &r);
    cr_expect_eq(r.failed_mask, BL_RULE_TIME);
    cr_expect_eq(r.checked_mask, BL_RULE_LEN | BL_RULE_TIME);
}

Test(rules, unterminated_long_rule_is_cut_not_overrun)
{
    char rule[300];
    memset(rule, 'a', sizeof rule - 1);
    rule[sizeof rule - 1] = '\0';
    bl_rule_result r;
    bl_rules_check(rule, "1", &r);
    cr_expect_eq(r.checked, 0);
}

/* Probabilities for a reading: each digit's class at p, the runner-up
 * (alt, or none when -1) at the rest. */
static void readings(const char *value, const int *alt, float p, float *prob, int *cls)
{
    int n = (int)strlen(value);
    for (int k = 0; k < n; k++) {
        for (int c = 0; c < 10; c++)
            prob[10 * k + c] = (1.0f - p) / 9.0f * 0.1f;
        cls[k] = value[k] - '0';
        prob[10 * k + cls[k]] = p;
        if (alt[k] >= 0)
            prob[10 * k + alt[k]] = 1.0f - p - 0.05f;
    }
}

Test(rules, a_failed_check_digit_is_mended_at_the_doubtful_digit)
{
    /* 79927398713 passes Luhn; the classifier read its 4th digit 2 as 7,
     * doubtfully, with 2 as runner-up. */
    const char *read = "79977398713";
    int alt[11] = {-1, -1, -1, 2, -1, -1, -1, -1, -1, -1, -1};
    float prob[110];
    int cls[11];
    readings(read, alt, 0.99f, prob, cls);
    prob[10 * 3 + 7] = 0.55f;
    prob[10 * 3 + 2] = 0.40f;
    cr_assert_eq(bl_rules_best_reading("len=11;check=luhn", prob, 11, cls), 1);
    char got[12];
    for (int k = 0; k < 11; k++)
        got[k] = (char)('0' + cls[k]);
    got[11] = '\0';
    cr_assert_str_eq(got, "79927398713");
}

Test(rules, a_date_is_mended_with_two_changes_when_one_is_not_enough)
{
    /* 19/12/1970 read as 79/72/1970: day and month impossible. */
    int alt[8] = {1, -1, 1, -1, -1, -1, -1, -1};
    float prob[80];
    int cls[8];
    readings("79721970", alt, 0.6f, prob, cls);
    cr_assert_eq(bl_rules_best_reading("len=8;date=DDMMYYYY", prob, 8, cls), 2);
    int want[8] = {1, 9, 1, 2, 1, 9, 7, 0};
    for (int k = 0; k < 8; k++)
        cr_assert_eq(cls[k], want[k], "digit %d", k);
}

Test(rules, a_year_out_of_the_span_is_mended)
{
    /* 14/01/1993 read as 14/01/5993, the 5 doubtful with 1 as runner-up:
     * a valid date, but not of the archive's years. */
    int alt[8] = {-1, -1, -1, -1, 1, -1, -1, -1};
    float prob[80];
    int cls[8];
    readings("14015993", alt, 0.99f, prob, cls);
    prob[10 * 4 + 5] = 0.6f;
    prob[10 * 4 + 1] = 0.35f;
    cr_assert_eq(bl_rules_best_reading("len=8;date=DDMMYYYY", prob, 8, cls), 0);
    cr_assert_eq(bl_rules_best_reading("len=8;date=DDMMYYYY;years=1900-2029", prob, 8, cls),
                 1);
    cr_assert_eq(cls[4], 1);
}

Test(rules, a_telephone_number_gets_its_leading_zero_back)
{
    /* 0270477523 read as 2270477523, with 0 as the first digit's runner-up. */
    int alt[10] = {0, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    float prob[100];
    int cls[10];
    readings("2270477523", alt, 0.9f, prob, cls);
    prob[2] = 0.6f;
    prob[0] = 0.3f;
    cr_assert_eq(bl_rules_best_reading("len=10;prefix=0", prob, 10, cls), 1);
    cr_assert_eq(cls[0], 0);
    cr_assert_eq(cls[1], 2);
}

Test(rules, readings_that_pass_or_cannot_be_mended_stay)
{
    int none[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    float prob[80];
    int cls[8];
    readings("1234", none, 0.9f, prob, cls);
    cr_assert_eq(bl_rules_best_reading("time=HHMM", prob, 4, cls), 0, "passes already");
    cr_assert_eq(bl_rules_best_reading("", prob, 4, cls), 0, "no rule");
    cr_assert_eq(bl_rules_best_reading("len=5", prob, 4, cls), 0, "length is not mended");
    /* 99 against 50-60: the alternatives (8, then 0) reach no value in
     * range, so the reading stays as the classifier gave it. */
    int eights[2] = {8, 8};
    readings("99", eights, 0.6f, prob, cls);
    cr_assert_eq(bl_rules_best_reading("range=50-60", prob, 2, cls), 0, "nothing passes");
    cr_assert(cls[0] == 9 && cls[1] == 9);
    readings("1234", none, 0.9f, prob, cls);
    cls[0] = -1;
    cr_assert_eq(bl_rules_best_reading("time=HHMM", prob, 4, cls), 0, "unclassified digit");
}
