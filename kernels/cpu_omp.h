/* Internal: the CPU launchers' tiling. Instances are cut into tiles of FSS_CPU_TILE; a
 * tile's blocks of one tree level go through OpenSSL in one call (16 KiB and more, where
 * AES-NI pipelines fully), and tiles are spread over the context's threads. */
#ifndef FSS_CPU_OMP_H
#define FSS_CPU_OMP_H

#include <stddef.h>
#include <stdint.h>

#include "fss/parallel.h"

#define FSS_CPU_TILE 512

static inline size_t fss_ntiles(size_t count) { return (count + FSS_CPU_TILE - 1) / FSS_CPU_TILE; }

#endif
