/*
 * report: the front end's reports to the writer, and their storing.
 *
 * Besides pages and error notes, the writer receives two EVENT notes from
 * the front end, which it stores through common/db/stats.h:
 *   "stage-stats"  what one stage instance did for a batch (batch; text:
 *                  key=value list, see bl_report_stats_note)
 *   "file-settled" an input file of a batch whose every outcome is in
 *                  (batch, path; num: stored, duplicates, failed, retry;
 *                  text: size=N mtime_ns=N hash=HEX)
 * Each is answered with a "recorded" event to the front end (num[0]: 0 or
 * the BL_E... code of the failure, num[1]: the report header's doc_id), so
 * that the front end can send again what a dying writer lost and wait
 * until its reports are stored before it stops the writer. Parsing checks every
 * field: a report is a message from the network like any other.
 */
#ifndef BL_WRITE_REPORT_H
#define BL_WRITE_REPORT_H

#include "db/stats.h"
#include "msg/msg.h"

/* Fills note (kind, batch, text) from row; row->stage must be a stage
 * name. */
void bl_report_stats_note(bl_note *note, const bl_db_stage_stats *row);
void bl_report_file_note(bl_note *note, const bl_db_file_record *rec);

/* Parses a "stage-stats" note. row->batch and row->stage point into note
 * and stage_name (which holds the name). */
int bl_report_stats_parse(const bl_note *note, bl_db_stage_stats *row,
                          char stage_name[16], bl_err *err);
int bl_report_file_parse(const bl_note *note, bl_db_file_record *rec,
                         bl_err *err);

/* 1 if note is one of the reports above. */
int bl_report_is_report(const bl_note *note);

/* Parses and stores a report. */
int bl_report_store(bl_db *db, const bl_note *note, bl_err *err);

#endif
