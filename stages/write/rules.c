/*
 * rules: the field validation rules of form templates (see rules.h for
 * the grammar). The rule is parsed afresh for each check: it is at most
 * 127 bytes, and parsing costs less than the message that carried it.
 * Luhn: ISO/IEC 7812-1 annex B. Mod 11: the weighting of rules.h.
 */
#include "write/rules.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RULE_MAX 128
#define MEND_MAX_DIGITS 32 /* longest field mended by bl_rules_best_reading */

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

/* The years a date may fall in (years=LO-HI); all of them by default. */
typedef struct year_span {
    unsigned long long lo, hi;
} year_span;

/* Whether some year of the span ends in the two digits yy. */
static int span_has_yy(const year_span *span, int yy)
{
    if (span->hi - span->lo >= 99)
        return 1;
    for (unsigned long long y = span->lo; y <= span->hi; y++)
        if (y % 100 == (unsigned long long)yy)
            return 1;
    return 0;
}

static int valid_date(const char *v, int year_digits, const year_span *span)
{
    if (!all_digits(v) || strlen(v) != (size_t)(4 + year_digits))
        return 0;
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int d = two(v), m = two(v + 2);
    int y = year_digits == 4 ? two(v + 4) * 100 + two(v + 6) : 2000 + two(v + 4);
    if (m < 1 || m > 12 || d < 1)
        return 0;
    if (year_digits == 4 ? (unsigned long long)y < span->lo || (unsigned long long)y > span->hi
                         : !span_has_yy(span, two(v + 4)))
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

/* Applies one key=value; returns -1 when the key is unknown or only
 * modifies another (years), else 1 when the value passes and 0 when it
 * fails, with *bit set. *bad is set when a known key's parameter does not
 * parse. */
static int apply(const char *key, const char *param, const char *value,
                 const year_span *span, unsigned *bit, int *bad)
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
            return valid_date(value, 4, span);
        if (strcmp(param, "DDMMYY") == 0)
            return valid_date(value, 2, span);
        return *bad = 1, -1;
    }
    if (strcmp(key, "years") == 0) { /* read by bl_rules_check for the date */
        if (!parse_span(param, &lo, &hi, 0))
            *bad = 1;
        return -1;
    }
    if (strcmp(key, "time") == 0) {
        *bit = BL_RULE_TIME;
        if (strcmp(param, "HHMM") != 0)
            return *bad = 1, -1;
        return valid_time(value);
    }
    if (strcmp(key, "prefix") == 0) {
        *bit = BL_RULE_PREFIX;
        size_t n = strlen(param);
        if (!n || n > 18 || !all_digits(param))
            return *bad = 1, -1;
        return strncmp(value, param, n) == 0;
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
    /* The date's year span comes first, wherever it stands in the rule. */
    year_span span = {0, ~0ULL};
    const char *years = strstr(buf, "years=");
    while (years && years != buf && years[-1] != ';')
        years = strstr(years + 1, "years=");
    if (years) {
        char param[RULE_MAX];
        size_t len = strcspn(years + 6, ";");
        memcpy(param, years + 6, len);
        param[len] = '\0';
        unsigned long long lo, hi;
        if (parse_span(param, &lo, &hi, 0))
            span.lo = lo, span.hi = hi;
    }
    char *save = NULL;
    for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(item, '=');
        if (!eq)
            continue;
        *eq = '\0';
        unsigned bit = 0;
        int bad = 0;
        int pass = apply(item, eq + 1, value, &span, &bit, &bad);
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

/* The rule's verdict on cls (n classes 0..9) as a digit string. */
static void check_reading(const char *rule, const int *cls, int n, bl_rule_result *r)
{
    char value[MEND_MAX_DIGITS + 1];
    for (int k = 0; k < n; k++)
        value[k] = (char)('0' + cls[k]);
    value[n] = '\0';
    bl_rules_check(rule, value, r);
}

static int reading_passes(const char *rule, const int *cls, int n)
{
    bl_rule_result r;
    check_reading(rule, cls, n, &r);
    return r.failed == 0;
}

/* The second and third likeliest classes of a digit. */
static void runners_up(const float *p, int best, int alt[2])
{
    alt[0] = alt[1] = -1;
    for (int c = 0; c < 10; c++) {
        if (c == best)
            continue;
        if (alt[0] < 0 || p[c] > p[alt[0]]) {
            alt[1] = alt[0];
            alt[0] = c;
        } else if (alt[1] < 0 || p[c] > p[alt[1]]) {
            alt[1] = c;
        }
    }
}

static double logp(float p) { return log(p > 1e-9f ? p : 1e-9f); }

int bl_rules_best_reading(const char *rule, const float *prob, int n, int *cls)
{
    if (!rule || !*rule || n <= 0 || n > MEND_MAX_DIGITS)
        return 0;
    for (int k = 0; k < n; k++)
        if (cls[k] < 0 || cls[k] > 9)
            return 0;
    bl_rule_result r;
    check_reading(rule, cls, n, &r);
    if (r.failed == 0 || (r.failed_mask & BL_RULE_LEN))
        return 0;
    int alt[MEND_MAX_DIGITS][2];
    for (int k = 0; k < n; k++)
        runners_up(prob + 10 * k, cls[k], alt[k]);
    /* Cost of a change: the log probability it gives up. */
    int best_i = -1, best_a = -1, best_j = -1, best_b = -1;
    double best = INFINITY;
    int trial[MEND_MAX_DIGITS];
    memcpy(trial, cls, sizeof *trial * (size_t)n);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            int ci = alt[i][a];
            double cost_i = logp(prob[10 * i + cls[i]]) - logp(prob[10 * i + ci]);
            trial[i] = ci;
            if (cost_i < best && reading_passes(rule, trial, n))
                best = cost_i, best_i = i, best_a = ci, best_j = -1;
            for (int j = i + 1; j < n; j++)
                for (int b = 0; b < 2; b++) {
                    int cj = alt[j][b];
                    double cost = cost_i + logp(prob[10 * j + cls[j]]) - logp(prob[10 * j + cj]);
                    if (cost >= best)
                        continue;
                    trial[j] = cj;
                    if (reading_passes(rule, trial, n))
                        best = cost, best_i = i, best_a = ci, best_j = j, best_b = cj;
                    trial[j] = cls[j];
                }
            trial[i] = cls[i];
        }
    if (best_i < 0)
        return 0;
    cls[best_i] = best_a;
    if (best_j < 0)
        return 1;
    cls[best_j] = best_b;
    return 2;
}
