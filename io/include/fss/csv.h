/* A party's table: the numeric columns it is asked for, read from a CSV file with a header
 * row (RFC 4180: comma-separated fields, records ended by LF or CRLF, a field in double
 * quotes may hold commas, line breaks and "" for a quote; a UTF-8 byte-order mark at the
 * start is skipped; a last line without its line break is a record).
 *
 * Only the asked-for columns are parsed; other columns (a patient id) are skipped. Each
 * asked-for cell must be a finite decimal number (digits, sign, point and exponent; spaces
 * around it allowed): an empty cell, "NA", "nan", "inf" or a hexadecimal number is refused
 * with the row and the column named, as is a record with another number of fields than
 * the header, a blank line, a missing column, a column named twice and a NUL byte in a
 * header name. Rows are numbered from 1 (the first record after the header), and the
 * message gives the file's line too. Every buffer that held the file or its values is
 * wiped before it is freed.
 *
 * Errors as in fss/npy.h: a status and one line in err. */
#ifndef FSS_IO_CSV_H
#define FSS_IO_CSV_H

#include "fss/common.h"

FSS_EXTERN_C_BEGIN

typedef struct fss_csv {
    size_t rows, cols; /* cols: the asked-for columns, in the order asked */
    double *v;         /* rows x cols, row-major: row r's column c at v[r cols + c] */
} fss_csv;

/* The columns names[0..ncols) of the CSV text (len bytes; name is the file's name for
 * messages). At most FSS_CSV_MAX_ROWS rows. */
#define FSS_CSV_MAX_ROWS ((size_t)1 << 28)
#define FSS_CSV_MAX_COLUMNS 65536 /* asked for; names distinct */
FSS_NODISCARD fss_status fss_csv_parse(const char *name, const char *text, size_t len, const char *const *names,
                                       size_t ncols, fss_csv *out, char *err, size_t err_len);
/* The same, from the file at path. */
FSS_NODISCARD fss_status fss_csv_read(const char *path, const char *const *names, size_t ncols, fss_csv *out,
                                      char *err, size_t err_len);
/* Wipes and frees the values (a party's private data); safe on a zeroed struct. */
void fss_csv_free(fss_csv *t);

FSS_EXTERN_C_END

#endif
