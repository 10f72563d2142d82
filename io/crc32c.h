/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the key-file
 * format. One entry point with runtime dispatch to the SSE4.2 crc32 instruction where the
 * processor has it and to a portable slicing-by-8 table otherwise; both give the same
 * bits (tests/test_keyfile.c checks them against each other and the check value
 * CRC32C("123456789") = 0xE3069283). Internal to io/. */
#ifndef FSS_IO_CRC32C_H
#define FSS_IO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Chains like zlib's crc32(): start with crc = 0 and pass each result back in, so
 * fss_crc32c(fss_crc32c(0, a, n), b, m) is the CRC of a followed by b. */
uint32_t fss_crc32c(uint32_t crc, const void *data, size_t n);

/* The CRC of A followed by B from crc_a = CRC(A), crc_b = CRC(B) and B's length: crc_a
 * moved past len_b zero bytes (a linear map on 32 bits, by repeated squaring of the
 * one-bit map), XOR crc_b. Lets threads check parts of a chunk apart. */
uint32_t fss_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* The two implementations, for the tests. fss_crc32c_sse42 may be called only when
 * fss_crc32c_have_sse42() is 1. */
uint32_t fss_crc32c_portable(uint32_t crc, const void *data, size_t n);
uint32_t fss_crc32c_sse42(uint32_t crc, const void *data, size_t n);
int fss_crc32c_have_sse42(void);

#endif
