/*
 * migrations: the numbered schema migrations compiled into the program.
 * The table is generated at build time from schema/NNN_name.sql by
 * embed_schema.cmake; entry i holds migration i + 1 (numbers are checked
 * to be contiguous from 1 when the table is generated).
 */
#ifndef BL_DB_MIGRATIONS_H
#define BL_DB_MIGRATIONS_H

typedef struct bl_db_migration {
    int version;      /* NNN of the file name; PRAGMA user_version after it */
    const char *name; /* "001_initial", for messages */
    const char *sql;  /* the whole file, run as one script */
} bl_db_migration;

extern const bl_db_migration bl_db_migrations[];
extern const int bl_db_migration_count;

#endif
