/*
 * cells: a comb field's walls come from the template's upright lines; its
 * writing is gathered cell by cell, without what is left of the walls,
 * the label above or specks; detect takes a comb written in small digits
 * that no candidate covers, and widens a comb field it found to a last
 * digit written apart.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "detect/cells.h"
#include "detect/detect.h"
#include "draw.h"

enum { W = 2480, H = 3508, CELLS = 8, PITCH = 90 };

/* A card: a header rule, a comb of CELLS cells at (300, 900), 130 px
 * tall (field "date"), a plain box (field "number") and an underline
 * (field "badge"). */
static bl_template_line lines[64];
static bl_template_field fields[3];
static bl_template card;

static void make_card(void)
{
    int n = 0;
    lines[n++] = (bl_template_line){0, {230, 400, 2020, 5}};
    lines[n++] = (bl_template_line){0, {300, 900, CELLS * PITCH + 3, 3}};
    lines[n++] = (bl_template_line){0, {300, 1030, CELLS * PITCH + 3, 3}};
    for (int i = 0; i <= CELLS; i++)
        lines[n++] = (bl_template_line){1, {300 + i * PITCH, 900, 3, 133}};
    lines[n++] = (bl_template_line){0, {1300, 900, 700, 4}};
    lines[n++] = (bl_template_line){0, {1300, 1100, 700, 4}};
    lines[n++] = (bl_template_line){1, {1300, 900, 4, 204}};
    lines[n++] = (bl_template_line){1, {1996, 900, 4, 204}};
    lines[n++] = (bl_template_line){0, {300, 1500, 900, 3}};
    lines[n++] = (bl_template_line){0, {230, 3100, 2020, 5}};
    memset(fields, 0, sizeof fields);
    strcpy(fields[0].name, "date");
    fields[0].box = (bl_box){303, 903, CELLS * PITCH - 3, 127};
    strcpy(fields[0].rule, "date=DDMMYYYY");
    strcpy(fields[1].name, "number");
    fields[1].box = (bl_box){1310, 910, 680, 185};
    strcpy(fields[2].name, "badge");
    fields[2].box = (bl_box){300, 1330, 900, 165};
    memset(&card, 0, sizeof card);
    strcpy(card.name, "comb_card");
    card.width = W;
    card.height = H;
    card.min_score = BL_TEMPLATE_MIN_SCORE;
    card.lines = lines;
    card.nlines = n;
    card.fields = fields;
    card.nfields = 3;
}

TestSuite(cells, .init = make_card);

/* Small digits (30 x 38 px: below detect's digit size) in the cells of
 * the mask, on a sheet shifted by (dx, dy). */
static bl_box small_digits(bl_image *page, unsigned mask, int dx, int dy)
{
    bl_box u = {0, 0, 0, 0};
    for (int i = 0; i < CELLS; i++)
        if (mask & (1u << i))
            u = draw_union(u, draw_ring(page, 300 + i * PITCH + 30 + dx, 950 + (i % 3) * 4 + dy, 30, 38));
    return u;
}

Test(cells, walls_come_from_the_upright_lines_across_the_box)
{
    int xs[BL_CELLS_MAX_WALLS];
    cr_assert_eq(bl_cells_walls(&card, &fields[0], xs), CELLS + 1);
    for (int i = 0; i <= CELLS; i++)
        cr_expect_eq(xs[i], 301 + i * PITCH);
    cr_expect_eq(bl_cells_walls(&card, &fields[1], xs), 2);
    cr_expect_eq(bl_cells_walls(&card, &fields[2], xs), 0);
}

Test(cells, gathers_the_written_cells_only)
{
    int dx = 27, dy = -33;
    bl_image *page = bl_image_new(W, H);
    /* Six of eight cells written, a cell with two pieces (a broken 5). */
    bl_box want = small_digits(page, 0xbd, dx, dy);
    bl_box piece = draw_ring(page, 300 + 7 * PITCH + 20 + dx, 990 + dy, 40, 22);
    want = draw_union(want, piece);
    /* What line removal leaves of two walls: thin bars on them. */
    draw_fill(page, (bl_box){300 + 2 * PITCH + dx, 930 + dy, 3, 60});
    draw_fill(page, (bl_box){300 + 6 * PITCH + dx - 1, 910 + dy, 4, 100});
    /* The label printed just above the comb, its letters' feet reaching
     * into the box, and specks in it. */
    for (int i = 0; i < 6; i++)
        draw_ring(page, 310 + i * 40 + dx, 870 + dy, 30, 40);
    draw_fill(page, (bl_box){300 + PITCH + 40 + dx, 1010 + dy, 4, 4});
    bl_box got = {0, 0, 0, 0};
    cr_assert_eq(bl_cells_gather(page, &card, &fields[0], dx, dy, &got), 6);
    draw_assert_box(got, want, "date");
    bl_image_destroy(&page);
}

Test(cells, two_cells_or_a_plain_box_are_no_entry)
{
    bl_image *page = bl_image_new(W, H);
    small_digits(page, 0x21, 0, 0);
    bl_box got = {0, 0, 0, 0};
    cr_expect_eq(bl_cells_gather(page, &card, &fields[0], 0, 0, &got), 0);
    /* Three small digits in the plain box: no cells there. */
    for (int i = 0; i < 3; i++)
        draw_ring(page, 1400 + i * 90, 960, 30, 38);
    cr_expect_eq(bl_cells_gather(page, &card, &fields[1], 0, 0, &got), 0);
    /* Shorter than a digit in three cells (dashes, dots): no entry. */
    bl_image *dots = bl_image_new(W, H);
    for (int i = 0; i < 3; i++)
        draw_fill(dots, (bl_box){330 + i * PITCH, 980, 25, 12});
    cr_expect_eq(bl_cells_gather(dots, &card, &fields[0], 0, 0, &got), 0);
    bl_image_destroy(&dots);
    bl_image_destroy(&page);
}

Test(cells, detect_takes_a_comb_written_small)
{
    int dx = -38, dy = 45;
    bl_image *page = bl_image_new(W, H);
    for (int i = 0; i < card.nlines; i++) {
        bl_box b = card.lines[i].box;
        draw_fill(page, (bl_box){b.x + dx, b.y + dy, b.w, b.h});
    }
    bl_box want = small_digits(page, 0xff, dx, dy);
    bl_template_set set = {&card, 1};
    bl_detect_field *f = NULL;
    int n = 0;
    bl_template_match m;
    bl_err err = {0};
    cr_assert_eq(bl_detect_run_named(NULL, &set, page, &f, &n, &m, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(m.index, 0, "score %.3f", m.score);
    cr_assert_eq(n, 1, "%d fields", n);
    cr_expect_str_eq(f[0].name, "date");
    cr_expect_str_eq(f[0].rule, "date=DDMMYYYY");
    cr_expect_eq(f[0].recovered, 1);
    draw_assert_box(f[0].box, want, "date");
    free(f);
    bl_image_destroy(&page);
}

Test(cells, a_found_comb_takes_in_its_last_written_cell)
{
    bl_image *page = bl_image_new(W, H);
    for (int i = 0; i < card.nlines; i++)
        draw_fill(page, card.lines[i].box);
    /* Seven digits of a hand large enough to be found as one field, and
     * a last one written small at the far side of its cell, too far from
     * the others to be grouped with them. */
    bl_box want = {0, 0, 0, 0};
    for (int i = 0; i < CELLS - 1; i++)
        want = draw_union(want, draw_ring(page, 300 + i * PITCH + 5, 940, 44, 56));
    bl_box last = draw_ring(page, 300 + (CELLS - 1) * PITCH + 62, 960, 22, 26);
    want = draw_union(want, last);
    bl_template_set set = {&card, 1};
    bl_detect_field *f = NULL;
    int n = 0;
    bl_template_match m;
    bl_err err = {0};
    bl_detect *det = bl_detect_new(BL_SOURCE_DIR "/models/detect-regions.blm", &err);
    cr_assert_not_null(det, "%s", err.msg);
    cr_assert_eq(bl_detect_run_named(det, &set, page, &f, &n, &m, &err), BL_OK, "%s", err.msg);
    bl_detect_destroy(&det);
    cr_assert_eq(m.index, 0, "score %.3f", m.score);
    cr_assert_eq(n, 1, "%d fields", n);
    cr_expect_str_eq(f[0].name, "date");
    cr_expect_geq(f[0].box.x + f[0].box.w, last.x + last.w,
                  "box %d+%d ends before the last digit at %d", f[0].box.x, f[0].box.w,
                  last.x + last.w);
    /* Across only: the box keeps the height the digits gave it. */
    cr_expect_leq(f[0].box.y, want.y);
    cr_expect_geq(f[0].box.y + f[0].box.h, want.y + want.h);
    cr_expect_lt(f[0].box.h, 100);
    free(f);
    bl_image_destroy(&page);
}
