/* The CPU evaluation context: thread count, one OpenSSL AES context and scratch space
 * per thread, the AES block counter, and the last error message. Passed first to every
 * CPU keygen and eval call. */
#ifndef FSS_CTX_H
#define FSS_CTX_H

#include "fss/common.h"

FSS_EXTERN_C_BEGIN

typedef struct fss_ctx fss_ctx;

/* threads <= 0 means all the processors OpenMP sees. */
FSS_NODISCARD fss_status fss_ctx_new(fss_ctx **out, int threads);

/* OpenMP's default keeps idle threads spinning for a while. Between our parallel loops a
 * program does serial work and waits on the peer, and on loopback two parties share the
 * cores: spinning then costs several times the work (LeNet with 2 threads a party on 2
 * cores: 0.164 s against 0.024 s passive). Programs call this first thing in main: where
 * OMP_WAIT_POLICY is unset it sets it to passive and executes the program again (the
 * runtime reads it only at start); if that fails it returns and nothing changes. */
void fss_omp_prefer_passive(char **argv);
/* Programs (the dealer, the parties) call this once: large buffers freed are kept in the
 * heap for the next rather than unmapped and mapped anew (glibc; elsewhere nothing). */
void fss_tune_malloc(void);
void fss_ctx_free(fss_ctx *ctx);

int fss_ctx_threads(const fss_ctx *ctx);
FSS_NODISCARD fss_status fss_ctx_set_threads(fss_ctx *ctx, int threads);

/* The message of the last failed call on this context ("" if none). */
const char *fss_ctx_error(const fss_ctx *ctx);

/* AES blocks this context has encrypted through the PRG since the last reset. */
uint64_t fss_ctx_aes_blocks(const fss_ctx *ctx);
void fss_ctx_reset_counters(fss_ctx *ctx);

/* out[i] = AES_K(in[i]) with the PRG's fixed key K, through OpenSSL on thread tid's
 * context (0 <= tid < threads). The batched primitive the CPU backend is built on; in
 * and out may alias. */
FSS_NODISCARD fss_status fss_ctx_aes(fss_ctx *ctx, int tid, const fss_block *in, fss_block *out,
                                     size_t nblocks);

/* Which path the CPU launchers take. All give the same bits; a new context takes the
 * fastest the processor has, and the switch exists for tests and benchmarks.
 * - FSS_CPU_VAES512: eight instances per AVX-512 register with VAES rounds inline (DCF
 *   eval and keygen, DPF walks, keygen and table lookups, batched AES; processors with
 *   AVX-512, VBMI, VAES and GFNI: Ice Lake server, Sapphire Rapids, Zen 4 on).
 * - FSS_CPU_VAES256: two instances per AVX2 register with VAES rounds inline (DCF eval
 *   and keygen, DPF walks, keygen and the trees' full expansion of table lookups, batched
 *   AES; processors with VAES but no AVX-512: Zen 3, Alder Lake).
 * - FSS_CPU_OPENSSL: level by level with the blocks batched through OpenSSL. */
typedef enum fss_cpu_path { FSS_CPU_OPENSSL = 0, FSS_CPU_VAES256 = 1, FSS_CPU_VAES512 = 2 } fss_cpu_path;
/* FSS_E_ARG when the processor lacks what the path needs. */
FSS_NODISCARD fss_status fss_ctx_set_cpu_path(fss_ctx *ctx, fss_cpu_path path);
fss_cpu_path fss_ctx_cpu_path(const fss_ctx *ctx);
int fss_cpu_path_available(fss_cpu_path path);
/* "openssl", "vaes256", "vaes512"; and back (-1 for an unknown name). */
const char *fss_cpu_path_name(fss_cpu_path path);
int fss_cpu_path_parse(const char *name);
/* 1 when the context's path is FSS_CPU_VAES512 (the launchers' test). */
int fss_ctx_vaes(const fss_ctx *ctx);
/* 1 when it is FSS_CPU_VAES256. */
int fss_ctx_vaes256(const fss_ctx *ctx);

/* For launchers that run AES themselves: count n blocks on thread tid. */
void fss_ctx_add_aes_blocks(fss_ctx *ctx, int tid, uint64_t n);

/* Per-thread scratch of at least bytes bytes, 64-byte aligned, kept until the next
 * call with a larger size or fss_ctx_free (which wipes it). NULL if out of memory. */
void *fss_ctx_scratch(fss_ctx *ctx, int tid, size_t bytes);

/* Set the error message (printf format) and return s: `return fss_ctx_fail(...)`. */
fss_status fss_ctx_fail(fss_ctx *ctx, fss_status s, const char *fmt, ...) FSS_PRINTF(3, 4);

FSS_EXTERN_C_END

#endif
