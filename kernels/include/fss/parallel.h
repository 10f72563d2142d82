/* Loops spread over a context's threads (OpenMP): the error flag a parallel loop's
 * iterations share. Used by the CPU launchers here and by the runtime's party-local
 * loops. */
#ifndef FSS_PARALLEL_H
#define FSS_PARALLEL_H

#ifdef _OPENMP
#include <omp.h>
#define FSS_OMP_TID() omp_get_thread_num()
#else
#define FSS_OMP_TID() 0
#endif

/* Record an error of a parallel loop; the other threads then skip their remaining
 * iterations. Both the write and the read are atomic. */
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

#endif
