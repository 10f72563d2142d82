/* Internal: layout and byte-serialization pieces shared by the DPF and DCF keys. */
#ifndef FSS_KEYIO_H
#define FSS_KEYIO_H

#include <string.h>

#include "fss/common.h"
#include "fss/keyparse_body.h" /* fss_ser_le, fss_ser_tail_clean: shared with the per-instance readers */

#define FSS_ALIGN64(x) (((x) + (size_t)63) & ~(size_t)63)

/* A zeroed, 64-byte aligned host allocation for a batch of keys, and its wiping free. */
void *fss_keys_mem_alloc(size_t bytes);
void fss_keys_mem_free(void *mem, size_t bytes);

/* Little-endian bit writer/reader over a byte buffer (LSB first). */
typedef struct bitbuf {
    uint8_t *p;
    const uint8_t *cp;
    size_t bit;
} bitbuf;

/* A value's bits go to (come from) at most 9 bytes: work a byte at a time, not a bit. */
static inline void bitbuf_put(bitbuf *b, uint64_t v, int nbits)
{
    if (nbits < 64)
        v &= ((uint64_t)1 << nbits) - 1;
    unsigned __int128 w = (unsigned __int128)v << (b->bit & 7);
    size_t at = b->bit >> 3, n = ((b->bit & 7) + (size_t)nbits + 7) / 8;
    for (size_t i = 0; i < n; i++)
        b->p[at + i] |= (uint8_t)(w >> (8 * i));
    b->bit += (size_t)nbits;
}

static inline uint64_t bitbuf_get(bitbuf *b, int nbits)
{
    unsigned __int128 w = 0;
    size_t at = b->bit >> 3, n = ((b->bit & 7) + (size_t)nbits + 7) / 8;
    for (size_t i = 0; i < n; i++)
        w |= (unsigned __int128)b->cp[at + i] << (8 * i);
    uint64_t v = (uint64_t)(w >> (b->bit & 7));
    b->bit += (size_t)nbits;
    return nbits < 64 ? v & (((uint64_t)1 << nbits) - 1) : v;
}

/* nv consecutive l-bit values (LSB first) from in, which holds exactly (nv l + 7) / 8
 * bytes: 8 bytes a load through a 128-bit accumulator, never past the end. */
static inline void bits_read_run(const uint8_t *in, size_t nv, int l, uint64_t *out)
{
    const size_t nbytes = (nv * (size_t)l + 7) / 8;
    const uint64_t mask = l >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << l) - 1);
    unsigned __int128 acc = 0;
    int have = 0;
    size_t pos = 0;
    for (size_t v = 0; v < nv; v++) {
        if (have < l) {
            uint64_t w = 0;
            size_t take = nbytes - pos < 8 ? nbytes - pos : 8;
            if (take == 8)
                memcpy(&w, in + pos, 8);
            else
                for (size_t b = 0; b < take; b++)
                    w |= (uint64_t)in[pos + b] << (8 * b);
            acc |= (unsigned __int128)w << have;
            have += 8 * (int)take;
            pos += take;
        }
        out[v] = (uint64_t)acc & mask;
        acc >>= l;
        have -= l;
    }
}

static inline void put_block(uint8_t *out, fss_block b) { memcpy(out, &b, 16); }
static inline fss_block get_block(const uint8_t *in)
{
    fss_block b;
    memcpy(&b, in, 16);
    return b;
}

static inline uint64_t depth_mask(int depth) { return depth >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << depth) - 1); }

/* Instances per tile of the DCF value reader: the level-major value rows are written a
 * tile's row at a time. */
#define FSS_KEYS_READ_TILE 16

/* Bytes of the tree part of one instance: root, depth scw, two tcw masks. */
static inline size_t fss_tree_key_bytes(int depth) { return 16 + 16 * (size_t)depth + 2 * (((size_t)depth + 7) / 8); }

/* The tree part of a block of b instances (first .. first+b-1 of count) in the block
 * layout of fss/dpf.h: roots, each level's scw, tcw_l, tcw_r. Returns the bytes written,
 * b fss_tree_key_bytes(depth), or 16 b fewer with root NULL: the layout without roots
 * (fss_dpf_keys_write_noroots), whose reader leaves the roots alone. */
size_t fss_tree_block_write(uint8_t *out, size_t first, size_t b, size_t count, int depth, const fss_block *root,
                            const fss_block *scw, const uint64_t *tcw_l, const uint64_t *tcw_r);
/* The reverse; returns 0 if a mask has bits beyond the depth (corruption), else 1. */
int fss_tree_block_read(const uint8_t *in, size_t first, size_t b, size_t count, int depth, fss_block *root,
                        fss_block *scw, uint64_t *tcw_l, uint64_t *tcw_r);

#endif
