/*
 * samples_forms: the tables of the three fixed form designs, their lines,
 * values and template files (see the header).
 *
 * Geometry of a field's template box from its guide, px at 300 dpi:
 *   BOX        the outline's interior (3 px rules);
 *   UNDERLINE  the band from 150 px above the line to 55 px below it (a
 *              writer may write low, so the line crosses the digits);
 *   COMB       the cells' interior, from the first cell's inner edge to the
 *              last cell's;
 *   FREE       the area itself.
 */
#include "blotter/samples_forms.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
    RULE_T = 3,        /* box, underline and comb rules */
    BAND_ABOVE = 150,  /* underline: writing band above the line */
    BAND_BELOW = 55,   /* and below it */
    SHEET_W = 2480, SHEET_H = 3508
};

/* Column edges of the property receipt's item table: Item, Description,
 * Qty, Value. */
const int bl_samples_table_cols[5] = {BL_TABLE_X0, 370, 1380, 1580, BL_TABLE_X1};

#define ROW_TOP(r) (BL_TABLE_TOP + BL_TABLE_HEAD + (r) * BL_TABLE_ROW)
/* An item value: its table cell, less 7 px all round. */
#define ITEM(n, r)                                                              \
    {"item_" #n "_value", "Value, item " #n, "len=2-5;range=10-99999",          \
     BL_STYLE_BOX, 1597, ROW_TOP(r) + 7, 596, BL_TABLE_ROW - 14, 0, 0, 1,       \
     BL_VALUE_RANGE, 2, 5, 10, 99999}

static const bl_samples_form_field ARREST[] = {
    {"arrest_number", "Arrest No.", "len=8;check=luhn", BL_STYLE_BOX,
     280, 640, 600, 150, 0, 0, 0, BL_VALUE_LUHN, 8, 8, 0, 0},
    {"case_number", "Case No.", "len=7;check=mod11", BL_STYLE_BOX,
     1150, 640, 520, 150, 0, 0, 0, BL_VALUE_MOD11, 7, 7, 0, 0},
    {"date_of_arrest", "Date of arrest (DD MM YYYY)", "len=8;date=DDMMYYYY;years=1900-2029",
     BL_STYLE_COMB, 280, 900, 90, 130, 8, 0, 0, BL_VALUE_DATE8, 8, 8, 0, 0},
    {"time_of_arrest", "Time (HH MM)", "len=4;time=HHMM", BL_STYLE_COMB,
     1280, 900, 90, 130, 4, 0, 0, BL_VALUE_TIME, 4, 4, 0, 0},
    {"date_of_birth", "Date of birth (DD MM YY)", "len=6;date=DDMMYY", BL_STYLE_COMB,
     280, 1150, 90, 130, 6, 0, 0, BL_VALUE_DATE6, 6, 6, 0, 0},
    {"height_cm", "Height (cm)", "len=3;range=140-210", BL_STYLE_BOX,
     1100, 1150, 260, 150, 0, 0, 0, BL_VALUE_RANGE, 3, 3, 140, 210},
    {"badge_number", "Arresting officer, badge", "len=3-5;range=100-99999",
     BL_STYLE_UNDERLINE, 880, 1500, 500, 0, 0, 1, 0, BL_VALUE_RANGE, 3, 5, 100, 99999},
    {"precinct", "Precinct", "len=2;range=10-40", BL_STYLE_FREE,
     1700, 1360, 500, 170, 0, 1, 0, BL_VALUE_RANGE, 2, 2, 10, 40},
    {"phone", "Telephone", "len=10;prefix=0", BL_STYLE_UNDERLINE,
     560, 1760, 860, 0, 0, 1, 0, BL_VALUE_PHONE, 10, 10, 0, 0},
    {"bail_amount", "Bail", "len=3-6;range=100-250000", BL_STYLE_UNDERLINE,
     1650, 1760, 550, 0, 0, 1, 0, BL_VALUE_RANGE, 3, 6, 100, 250000},
    {"booking_number", "Booking No.", "len=6;check=mod11", BL_STYLE_BOX,
     280, 1960, 560, 150, 0, 0, 0, BL_VALUE_MOD11, 6, 6, 0, 0},
    {"cell_number", "Cell", "len=2;range=10-60", BL_STYLE_FREE,
     1130, 1950, 300, 170, 0, 1, 0, BL_VALUE_RANGE, 2, 2, 10, 60},
};

static const bl_samples_form_field INCIDENT[] = {
    {"report_number", "Report No.", "len=9;check=luhn", BL_STYLE_BOX,
     280, 640, 700, 150, 0, 0, 0, BL_VALUE_LUHN, 9, 9, 0, 0},
    {"case_number", "Case No.", "len=7;check=mod11", BL_STYLE_BOX,
     1250, 640, 560, 150, 0, 0, 0, BL_VALUE_MOD11, 7, 7, 0, 0},
    {"date", "Date of incident (DD MM YYYY)", "len=8;date=DDMMYYYY;years=1900-2029",
     BL_STYLE_COMB, 280, 900, 90, 130, 8, 0, 0, BL_VALUE_DATE8, 8, 8, 0, 0},
    {"time", "Time (HH MM)", "len=4;time=HHMM", BL_STYLE_COMB,
     1280, 900, 90, 130, 4, 0, 0, BL_VALUE_TIME, 4, 4, 0, 0},
    {"badge_number", "Badge No.", "len=3-5;range=100-99999", BL_STYLE_UNDERLINE,
     560, 1250, 520, 0, 0, 1, 0, BL_VALUE_RANGE, 3, 5, 100, 99999},
    {"damage_amount", "Estimated damage", "len=3-6;range=100-500000", BL_STYLE_UNDERLINE,
     1650, 1250, 550, 0, 0, 1, 0, BL_VALUE_RANGE, 3, 6, 100, 500000},
    {"phone", "Complainant tel.", "len=10;prefix=0", BL_STYLE_UNDERLINE,
     700, 1510, 820, 0, 0, 1, 0, BL_VALUE_PHONE, 10, 10, 0, 0},
    {"vehicle_reg", "Vehicle reg.", "len=4-7", BL_STYLE_FREE,
     1850, 1370, 350, 170, 0, 1, 0, BL_VALUE_DIGITS, 4, 7, 0, 0},
    {"officer_id", "Officer ID", "len=6;check=mod11", BL_STYLE_BOX,
     280, 1680, 560, 150, 0, 0, 0, BL_VALUE_MOD11, 6, 6, 0, 0},
    {"unit", "Unit", "len=2-3;range=10-250", BL_STYLE_FREE,
     1150, 1670, 300, 170, 0, 1, 0, BL_VALUE_RANGE, 2, 3, 10, 250},
    {"postcode", "Postcode", "len=5;range=10000-99999", BL_STYLE_COMB,
     280, 1950, 90, 130, 5, 0, 0, BL_VALUE_RANGE, 5, 5, 10000, 99999},
};

static const bl_samples_form_field RECEIPT[] = {
    {"receipt_number", "Receipt No.", "len=8;check=luhn", BL_STYLE_BOX,
     280, 640, 600, 150, 0, 0, 0, BL_VALUE_LUHN, 8, 8, 0, 0},
    {"case_number", "Case No.", "len=7;check=mod11", BL_STYLE_BOX,
     1150, 640, 560, 150, 0, 0, 0, BL_VALUE_MOD11, 7, 7, 0, 0},
    {"date", "Date received (DD MM YYYY)", "len=8;date=DDMMYYYY;years=1900-2029",
     BL_STYLE_COMB, 280, 900, 90, 130, 8, 0, 0, BL_VALUE_DATE8, 8, 8, 0, 0},
    {"locker", "Locker No.", "len=2-4;range=10-9999", BL_STYLE_FREE,
     1400, 880, 400, 170, 0, 1, 0, BL_VALUE_RANGE, 2, 4, 10, 9999},
    {"badge_number", "Received by, badge", "len=3-5;range=100-99999", BL_STYLE_UNDERLINE,
     720, 1250, 520, 0, 0, 1, 0, BL_VALUE_RANGE, 3, 5, 100, 99999},
    {"owner_phone", "Owner tel.", "len=10;prefix=0", BL_STYLE_UNDERLINE,
     1520, 1250, 680, 0, 0, 1, 0, BL_VALUE_PHONE, 10, 10, 0, 0},
    {"officer_id", "Officer ID", "len=6;check=mod11", BL_STYLE_BOX,
     280, 1400, 560, 150, 0, 0, 0, BL_VALUE_MOD11, 6, 6, 0, 0},
    {"total_amount", "Total value", "len=3-6;range=100-999999", BL_STYLE_UNDERLINE,
     1300, 1530, 600, 0, 0, 1, 0, BL_VALUE_RANGE, 3, 6, 100, 999999},
    ITEM(1, 0), ITEM(2, 1), ITEM(3, 2), ITEM(4, 3),
};

#define N(a) ((int)(sizeof a / sizeof a[0]))

static const bl_samples_form FORMS[BL_FORM_COUNT] = {
    {"arrest_record", "ARREST RECORD", ARREST, N(ARREST), 1, 0, 0},
    {"incident_report", "INCIDENT REPORT", INCIDENT, N(INCIDENT), 0, 0, 6},
    {"property_receipt", "PROPERTY RECEIPT", RECEIPT, N(RECEIPT), 0, 4, 0},
};

const bl_samples_form *bl_samples_form_get(int index)
{
    return index >= 0 && index < BL_FORM_COUNT ? &FORMS[index] : NULL;
}

bl_box bl_samples_form_field_box(const bl_samples_form_field *f)
{
    switch (f->style) {
    case BL_STYLE_BOX:
        return (bl_box){f->x + RULE_T, f->y + RULE_T, f->w - 2 * RULE_T, f->h - 2 * RULE_T};
    case BL_STYLE_UNDERLINE:
        return (bl_box){f->x, f->y - BAND_ABOVE, f->w, BAND_ABOVE + BAND_BELOW};
    case BL_STYLE_COMB:
        return (bl_box){f->x + RULE_T, f->y + RULE_T, f->cells * f->w - RULE_T, f->h - RULE_T};
    default:
        return (bl_box){f->x, f->y, f->w, f->h};
    }
}

static void add(bl_samples_line *out, int max, int *n, char dir, int x, int y, int len, int t)
{
    if (*n < max)
        out[*n] = (bl_samples_line){dir, x, y, len, t};
    (*n)++;
}

int bl_samples_form_lines(const bl_samples_form *form, bl_samples_line *out, int max)
{
    int n = 0;
    add(out, max, &n, 'h', 230, 405, 2020, 5); /* header rule */
    if (form->photo) {
        int x = 1700, y = 560, w = 500, h = 620, t = 4;
        add(out, max, &n, 'h', x, y, w, t);
        add(out, max, &n, 'h', x, y + h - t, w, t);
        add(out, max, &n, 'v', x, y, h, t);
        add(out, max, &n, 'v', x + w - t, y, h, t);
    }
    for (int i = 0; i < form->nfields; i++) {
        const bl_samples_form_field *f = &form->fields[i];
        switch (f->style) {
        case BL_STYLE_BOX:
            if (f->in_table)
                break;
            add(out, max, &n, 'h', f->x, f->y, f->w, RULE_T);
            add(out, max, &n, 'h', f->x, f->y + f->h - RULE_T, f->w, RULE_T);
            add(out, max, &n, 'v', f->x, f->y, f->h, RULE_T);
            add(out, max, &n, 'v', f->x + f->w - RULE_T, f->y, f->h, RULE_T);
            break;
        case BL_STYLE_UNDERLINE:
            add(out, max, &n, 'h', f->x, f->y, f->w, RULE_T);
            break;
        case BL_STYLE_COMB:
            add(out, max, &n, 'h', f->x, f->y, f->cells * f->w + RULE_T, RULE_T);
            add(out, max, &n, 'h', f->x, f->y + f->h, f->cells * f->w + RULE_T, RULE_T);
            for (int c = 0; c <= f->cells; c++)
                add(out, max, &n, 'v', f->x + c * f->w, f->y, f->h + RULE_T, RULE_T);
            break;
        default:
            break;
        }
    }
    if (form->table_rows > 0) {
        int height = BL_TABLE_HEAD + form->table_rows * BL_TABLE_ROW;
        add(out, max, &n, 'h', BL_TABLE_X0, BL_TABLE_TOP, BL_TABLE_X1 - BL_TABLE_X0, RULE_T);
        for (int r = 0; r <= form->table_rows; r++)
            add(out, max, &n, 'h', BL_TABLE_X0, ROW_TOP(r), BL_TABLE_X1 - BL_TABLE_X0,
                RULE_T);
        for (int c = 0; c < 5; c++)
            add(out, max, &n, 'v', bl_samples_table_cols[c], BL_TABLE_TOP,
                height + RULE_T, RULE_T);
    }
    for (int i = 0; i < form->narrative_lines; i++)
        add(out, max, &n, 'h', 230, 2260 + i * 110, 2020, RULE_T);
    add(out, max, &n, 'h', 1000, 3055, 900, 3); /* signature */
    return n < max ? n : max;
}

/* ---- Values -------------------------------------------------------------- */

static void digits(bl_samples_rng *rng, char *v, int n, int first_nonzero)
{
    for (int i = 0; i < n; i++)
        v[i] = (char)('0' + bl_samples_rng_int(rng, i == 0 && first_nonzero ? 1 : 0, 9));
    v[n] = '\0';
}

void bl_samples_form_make_value(const bl_samples_form_field *f, bl_samples_rng *rng,
                                char *value)
{
    int n = bl_samples_rng_int(rng, f->min_digits, f->max_digits);
    switch (f->value) {
    case BL_VALUE_LUHN: {
        digits(rng, value, n - 1, 1);
        int sum = 0;
        for (int j = 0; j < n - 1; j++) { /* j from the payload's right */
            int d = value[n - 2 - j] - '0';
            if (j % 2 == 0)
                d = d * 2 > 9 ? d * 2 - 9 : d * 2;
            sum += d;
        }
        value[n - 1] = (char)('0' + (10 - sum % 10) % 10);
        value[n] = '\0';
        return;
    }
    case BL_VALUE_MOD11:
        for (;;) { /* a payload whose check would be 10 is drawn again */
            digits(rng, value, n - 1, 1);
            int sum = 0;
            for (int j = 0; j < n - 1; j++)
                sum += (value[n - 2 - j] - '0') * (j + 2);
            int check = (11 - sum % 11) % 11;
            if (check == 10)
                continue;
            value[n - 1] = (char)('0' + check);
            value[n] = '\0';
            return;
        }
    case BL_VALUE_DATE8:
        snprintf(value, BL_SAMPLES_MAX_DIGITS + 1, "%02d%02d%04d",
                 bl_samples_rng_int(rng, 1, 28), bl_samples_rng_int(rng, 1, 12),
                 bl_samples_rng_int(rng, 1950, 1999));
        return;
    case BL_VALUE_DATE6:
        snprintf(value, BL_SAMPLES_MAX_DIGITS + 1, "%02d%02d%02d",
                 bl_samples_rng_int(rng, 1, 28), bl_samples_rng_int(rng, 1, 12),
                 bl_samples_rng_int(rng, 50, 99));
        return;
    case BL_VALUE_TIME:
        snprintf(value, BL_SAMPLES_MAX_DIGITS + 1, "%02d%02d",
                 bl_samples_rng_int(rng, 0, 23), bl_samples_rng_int(rng, 0, 59));
        return;
    case BL_VALUE_PHONE:
        value[0] = '0';
        digits(rng, value + 1, 9, 1);
        return;
    case BL_VALUE_RANGE:
        for (;;) { /* digit count first, so small amounts are as common as big */
            long p = 1;
            for (int i = 1; i < n; i++)
                p *= 10;
            long lo = n == 1 ? 0 : p, hi = p * 10 - 1;
            lo = lo > f->lo ? lo : f->lo;
            hi = hi < f->hi ? hi : f->hi;
            if (lo <= hi) {
                snprintf(value, BL_SAMPLES_MAX_DIGITS + 1, "%ld",
                         lo + (long)bl_samples_rng_int(rng, 0, (int)(hi - lo)));
                return;
            }
            n = bl_samples_rng_int(rng, f->min_digits, f->max_digits);
        }
    default:
        digits(rng, value, n, 0);
        return;
    }
}

/* ---- Template files ------------------------------------------------------ */

static int write_template(const bl_samples_form *form, const char *path, bl_err *err)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return bl_err_set(err, BL_EIO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(fp,
            "# Form template: %s. Written by `blotter samples --templates` from the\n"
            "# generator's design of this layout; px of the unshifted A4 sheet at 300 dpi.\n"
            "[template]\n"
            "name = %s\n"
            "title = %s\n"
            "width = %d\n"
            "height = %d\n\n"
            "[lines]\n",
            form->name, form->name, form->title, SHEET_W, SHEET_H);
    bl_samples_line lines[BL_FORM_MAX_LINES];
    int n = bl_samples_form_lines(form, lines, BL_FORM_MAX_LINES);
    for (int i = 0; i < n; i++)
        if (lines[i].len >= BL_FORM_LINE_MIN)
            fprintf(fp, "line = %c %d %d %d %d\n", lines[i].dir, lines[i].x, lines[i].y,
                    lines[i].len, lines[i].t);
    for (int i = 0; i < form->nfields; i++) {
        const bl_samples_form_field *f = &form->fields[i];
        bl_box b = bl_samples_form_field_box(f);
        fprintf(fp, "\n[field %s]\nbox = %d %d %d %d\nrule = %s\nlabel = %s\n", f->name,
                b.x, b.y, b.w, b.h, f->rule, f->label);
    }
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad)
        return bl_err_set(err, BL_EIO, "%s: cannot write: %s", path, strerror(errno));
    return BL_OK;
}

int bl_samples_forms_write_templates(const char *dir, bl_err *err)
{
    for (int i = 0; i < BL_FORM_COUNT; i++) {
        char path[4096];
        if (!bl_snprintf(path, sizeof path, "%s/%s.ini", dir, FORMS[i].name))
            return bl_err_set(err, BL_EINVAL, "%s: path too long", dir);
        int rc = write_template(&FORMS[i], path, err);
        if (rc != BL_OK)
            return rc;
    }
    return BL_OK;
}
