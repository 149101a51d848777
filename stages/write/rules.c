/*
 * rules: the field validation rules of form templates (see rules.h for
 * the grammar). The rule is parsed afresh for each check: it is at most
 * 127 bytes, and parsing costs less than the message that carried it.
 * Luhn: ISO/IEC 7812-1 annex B. Mod 11: the weighting of rules.h.
 */
#include "write/rules.h"

#include <stdlib.h>
#include <string.h>

#define RULE_MAX 128

/* Parses an unsigned decimal of at most 18 digits filling [s, end). */
static int parse_u64(const char *s, const char *end, unsigned long long *out)
{
    if (s >= end || end - s > 18)
        return 0;
    unsigned long long v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned)(*p - '0');
    }
    *out = v;
    return 1;
}

/* "A-B" or "N" (then A = B = N). */
static int parse_span(const char *s, unsigned long long *lo, unsigned long long *hi,
                      int single_ok)
{
    const char *end = s + strlen(s);
    const char *dash = strchr(s, '-');
    if (!dash) {
        if (!single_ok || !parse_u64(s, end, lo))
            return 0;
        *hi = *lo;
        return 1;
    }
    return parse_u64(s, dash, lo) && parse_u64(dash + 1, end, hi) && *lo <= *hi;
}

static int all_digits(const char *v)
{
    if (!*v)
        return 0;
    for (; *v; v++)
        if (*v < '0' || *v > '9')
            return 0;
    return 1;
}

static int two(const char *v)
{
    return (v[0] - '0') * 10 + (v[1] - '0');
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int valid_date(const char *v, int year_digits)
{
    if (!all_digits(v) || strlen(v) != (size_t)(4 + year_digits))
        return 0;
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int d = two(v), m = two(v + 2);
    int y = year_digits == 4 ? two(v + 4) * 100 + two(v + 6) : 2000 + two(v + 4);
    if (m < 1 || m > 12 || d < 1)
        return 0;
    int limit = days[m - 1] + (m == 2 && leap(y));
    return d <= limit;
}

static int valid_time(const char *v)
{
    return all_digits(v) && strlen(v) == 4 && two(v) <= 23 && two(v + 2) <= 59;
}

static int luhn_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 2 || !all_digits(v))
        return 0;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = v[n - 1 - i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

static int mod11_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 2 || !all_digits(v))
        return 0;
    int sum = 0, weight = 2;
    for (size_t i = n - 1; i-- > 0; weight++)
        sum += (v[i] - '0') * weight;
    int check = (11 - sum % 11) % 11;
    return check != 10 && check == v[n - 1] - '0';
}

/* Applies one key=value; returns -1 when the key is unknown, else 1 when
 * the value passes and 0 when it fails, with *bit set. *bad is set when a
 * known key's parameter does not parse. */
static int apply(const char *key, const char *param, const char *value, unsigned *bit,
                 int *bad)
{
    unsigned long long lo, hi;
    *bad = 0;
    if (strcmp(key, "len") == 0) {
        *bit = BL_RULE_LEN;
        if (!parse_span(param, &lo, &hi, 1))
            return *bad = 1, -1;
        size_t n = strlen(value);
        return n >= lo && n <= hi;
    }
    if (strcmp(key, "range") == 0) {
        *bit = BL_RULE_RANGE;
        if (!parse_span(param, &lo, &hi, 0))
            return *bad = 1, -1;
        unsigned long long v;
        return all_digits(value) && parse_u64(value, value + strlen(value), &v) && v >= lo
            && v <= hi;
    }
    if (strcmp(key, "date") == 0) {
        *bit = BL_RULE_DATE;
        if (strcmp(param, "DDMMYYYY") == 0)
            return valid_date(value, 4);
        if (strcmp(param, "DDMMYY") == 0)
            return valid_date(value, 2);
        return *bad = 1, -1;
    }
    if (strcmp(key, "time") == 0) {
        *bit = BL_RULE_TIME;
        if (strcmp(param, "HHMM") != 0)
            return *bad = 1, -1;
        return valid_time(value);
    }
    if (strcmp(key, "check") == 0) {
        *bit = BL_RULE_CHECK;
        if (strcmp(param, "luhn") == 0)
            return luhn_ok(value);
        if (strcmp(param, "mod11") == 0)
            return mod11_ok(value);
        return *bad = 1, -1;
    }
    return -1;
}

void bl_rules_check(const char *rule, const char *value, bl_rule_result *out)
{
    memset(out, 0, sizeof *out);
    if (!rule || !*rule || !value)
        return;
    char buf[RULE_MAX];
    size_t n = strnlen(rule, sizeof buf);
    if (n == sizeof buf)
        n = sizeof buf - 1; /* the contract says 127 bytes; cut, never overrun */
    memcpy(buf, rule, n);
    buf[n] = '\0';
    char *save = NULL;
    for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(item, '=');
        if (!eq)
            continue;
        *eq = '\0';
        unsigned bit = 0;
        int bad = 0;
        int pass = apply(item, eq + 1, value, &bit, &bad);
        if (bad)
            out->malformed++;
        if (pass < 0)
            continue;
        out->checked++;
        out->checked_mask |= bit;
        if (!pass) {
            out->failed++;
            out->failed_mask |= bit;
        }
    }
}
