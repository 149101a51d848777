/* The writer's validation rules (stages/write/rules.c). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

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
    {"len=8;date=DDMMYYYY", "31121999", 2, 0},
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
    bl_rules_check("len=;range=9-1;date=YYYY;check=crc", "12", &r);
    cr_expect_eq(r.malformed, 4);
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
