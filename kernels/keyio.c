#include "keyio.h"

void *fss_keys_mem_alloc(size_t bytes)
{
    size_t rounded = FSS_ALIGN64(bytes ? bytes : 1);
    void *mem = aligned_alloc(64, rounded);
    if (mem)
        memset(mem, 0, rounded);
    return mem;
}

void fss_keys_mem_free(void *mem, size_t bytes)
{
    if (!mem)
        return;
    fss_free_wiped(mem, bytes);
}

static void put_mask(uint8_t *out, uint64_t m, size_t nbytes)
{
    for (size_t j = 0; j < nbytes; j++)
        out[j] = (uint8_t)(m >> (8 * j));
}

size_t fss_tree_block_write(uint8_t *out, size_t first, size_t b, size_t count, int depth, const fss_block *root,
                            const fss_block *scw, const uint64_t *tcw_l, const uint64_t *tcw_r)
{
    const size_t mb = ((size_t)depth + 7) / 8;
    uint8_t *o = out;
    if (root) {
        memcpy(o, root + first, b * 16); /* put_block is a 16-byte copy: whole runs at once */
        o += b * 16;
    }
    for (int lv = 0; lv < depth; lv++, o += b * 16)
        memcpy(o, scw + (size_t)lv * count + first, b * 16);
    for (size_t j = 0; j < b; j++, o += mb)
        put_mask(o, tcw_l[first + j], mb);
    for (size_t j = 0; j < b; j++, o += mb)
        put_mask(o, tcw_r[first + j], mb);
    return (size_t)(o - out);
}

int fss_tree_block_read(const uint8_t *in, size_t first, size_t b, size_t count, int depth, fss_block *root,
                        fss_block *scw, uint64_t *tcw_l, uint64_t *tcw_r)
{
    const size_t mb = ((size_t)depth + 7) / 8;
    const uint64_t bad = ~depth_mask(depth);
    const uint8_t *r = in;
    if (root) {
        memcpy(root + first, r, b * 16);
        r += b * 16;
    }
    for (int lv = 0; lv < depth; lv++, r += b * 16)
        memcpy(scw + (size_t)lv * count + first, r, b * 16);
    uint64_t stray = 0;
    for (size_t j = 0; j < b; j++, r += mb)
        stray |= (tcw_l[first + j] = fss_ser_le(r, mb)) & bad;
    for (size_t j = 0; j < b; j++, r += mb)
        stray |= (tcw_r[first + j] = fss_ser_le(r, mb)) & bad;
    return stray == 0;
}
