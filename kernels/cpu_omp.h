/* Internal: the CPU launchers' tiling. Instances are cut into tiles of FSS_CPU_TILE; a
 * tile's blocks of one tree level go through OpenSSL in one call (16 KiB and more, where
 * AES-NI pipelines fully), and tiles are spread over the context's threads. */
#ifndef FSS_CPU_OMP_H
#define FSS_CPU_OMP_H

#include <stddef.h>
#include <stdint.h>

#include "fss/ctx.h"
#include "fss/parallel.h"

#define FSS_CPU_TILE 512

static inline size_t fss_ntiles(size_t count) { return (count + FSS_CPU_TILE - 1) / FSS_CPU_TILE; }

/* One tile's work: instances [i0, i0 + m) on thread tid, sc its scratch. */
typedef fss_status (*fss_tile_fn)(fss_ctx *ctx, int tid, uint8_t *sc, size_t i0, size_t m, const void *arg);

/* Runs fn on each tile of count instances, the tiles spread over the context's threads;
 * or on this thread alone, with no OpenMP region, when one tile or one thread would do:
 * a region, even of one thread, allocates a team and wakes futexes (about 0.6 us a call,
 * most of a batch of one's eval). Each thread's scratch holds scratch bytes. The first
 * error stops the tiles not yet begun and is returned. */
fss_status fss_cpu_tiles(fss_ctx *ctx, size_t count, size_t scratch, fss_tile_fn fn, const void *arg);

#endif
