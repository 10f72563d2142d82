/* What stats.c shares with regress.c (not public). */
#ifndef FSS_STATS_INTERNAL_H
#define FSS_STATS_INTERNAL_H

#include "fss/gates.h"
#include "fss/stats.h"

#define CORR_F 29 /* the mantissas' scale: their products keep 2 bits of headroom */

/* Opens count words of y from off on to every receiving party, into words + at (words is
 * NULL in the dealer's walk). */
fss_status fss_stats_open_to(fss_eval *ev, const fss_stats_spec *sp, const fss_tensor *y, size_t off, size_t count,
                             uint64_t *words, size_t at);
/* The correlations of k columns (stats.c): r, the mantissas and leading ones of the
 * moments, the joint sums. */
fss_status fss_stats_corr_core(fss_eval *ev, const fss_stats_spec *sp, const size_t *cols, const int *fcol, size_t k,
                               const fss_csv *const tables[2], fss_tensor *rr, fss_tensor *m, fss_tensor *e,
                               fss_tensor *ssum);
/* A linear regression's words (regress.c). */
fss_status fss_stats_regress_walk(fss_eval *ev, const fss_stats_spec *sp, const fss_stat *st,
                                  const fss_csv *const tables[2], uint64_t *words);

#endif
