/*
 * rules: checks a field's value against its validation rule, the
 * ';'-separated key=value hints the form template gives the field
 * (bl_work_field.rule, at most 127 bytes):
 *
 *   len=N | len=A-B          digit count
 *   range=LO-HI              integer value, inclusive
 *   date=DDMMYYYY | DDMMYY   a valid calendar date (Gregorian leap years;
 *                            a two-digit year YY is taken as 20YY)
 *   years=LO-HI              the date's year lies in LO..HI (a two-digit
 *                            year: some year of the span ends in YY); it
 *                            only narrows date=, under its BL_RULE_DATE
 *   time=HHMM                00-23, 00-59
 *   prefix=DIGITS            the value starts with these digits (a
 *                            telephone number's trunk prefix 0)
 *   check=luhn | check=mod11 the last digit is the check digit: Luhn; or
 *                            mod 11 with weights 2, 3, 4, ... from the
 *                            right of the payload, check = (11 - sum % 11)
 *                            % 11, a result of 10 being impossible
 *
 * Unknown keys are ignored, as are known keys whose parameter does not
 * parse (counted in `malformed`, so a template's typo can be reported);
 * an empty rule checks nothing. A value holding any non-digit (the '?' of
 * an unclassified digit) fails every rule but len.
 */
#ifndef BL_WRITE_RULES_H
#define BL_WRITE_RULES_H

enum {
    BL_RULE_LEN = 1u << 0,
    BL_RULE_RANGE = 1u << 1,
    BL_RULE_DATE = 1u << 2,
    BL_RULE_TIME = 1u << 3,
    BL_RULE_CHECK = 1u << 4,
    BL_RULE_PREFIX = 1u << 5,
};

typedef struct bl_rule_result {
    int checked;           /* known, well-formed rules applied */
    int failed;            /* of those, how many the value breaks */
    unsigned checked_mask; /* BL_RULE_* */
    unsigned failed_mask;
    int malformed;         /* known keys whose parameter did not parse */
} bl_rule_result;

/* Checks value (a NUL-terminated string) against rule (may be NULL or
 * empty). Never fails: the result says what was checked. */
void bl_rules_check(const char *rule, const char *value, bl_rule_result *out);

/* The likeliest reading of a field that obeys its rule. cls holds n
 * digit classes (the classifier's best), prob n rows of 10 class
 * probabilities. When the best reading breaks a rule that a substitution
 * can mend (range, date, time, check, prefix; not len), the readings that change
 * one or two digits to their second or third likeliest class are tried,
 * and the likeliest of them (largest product of the chosen classes'
 * probabilities) that passes every rule replaces cls. Returns the number
 * of digits changed: 0 when the reading passes already, when no rule
 * applies, when a digit is unclassified (-1), or when no such reading
 * passes. */
int bl_rules_best_reading(const char *rule, const float *prob, int n, int *cls);

#endif
