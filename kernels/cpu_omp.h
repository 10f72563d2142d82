/* Internal: the CPU launchers' tiling. Instances are cut into tiles of FSS_CPU_TILE; a
 * tile's blocks of one tree level go through OpenSSL in one call (16 KiB and more, where
 * AES-NI pipelines fully), and tiles are spread over the context's threads. */
#ifndef FSS_CPU_OMP_H
#define FSS_CPU_OMP_H

#include <stddef.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#define FSS_OMP_TID() omp_get_thread_num()
#else
#define FSS_OMP_TID() 0
#endif

#define FSS_CPU_TILE 512

/* Record an error of a parallel loop; the other threads then skip their remaining
 * tiles. Both the write and the read are atomic. */
#define FSS_SET_FAILED(flag, code)  \
    do {                            \
        _Pragma("omp atomic write") \
        (flag) = (code);            \
    } while (0)

static inline int fss_failed(int *flag)
{
    int v;
#pragma omp atomic read
    v = *flag;
    return v;
}

static inline size_t fss_ntiles(size_t count) { return (count + FSS_CPU_TILE - 1) / FSS_CPU_TILE; }

#endif
