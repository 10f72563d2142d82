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
    fss_memzero(mem, bytes);
    free(mem);
}

static void put_mask(uint8_t *out, uint64_t m, size_t nbytes)
{
    for (size_t j = 0; j < nbytes; j++)
        out[j] = (uint8_t)(m >> (8 * j));
}

static uint64_t get_mask(const uint8_t *in, size_t nbytes)
{
    uint64_t m = 0;
    for (size_t j = 0; j < nbytes; j++)
        m |= (uint64_t)in[j] << (8 * j);
    return m;
}

size_t fss_tree_key_write(uint8_t *out, size_t i, size_t count, int depth, const fss_block *root,
                          const fss_block *scw, const uint64_t *tcw_l, const uint64_t *tcw_r)
{
    size_t off = 0, mb = ((size_t)depth + 7) / 8;
    put_block(out, root[i]);
    off += 16;
    for (int lv = 0; lv < depth; lv++, off += 16)
        put_block(out + off, scw[(size_t)lv * count + i]);
    put_mask(out + off, tcw_l[i], mb);
    off += mb;
    put_mask(out + off, tcw_r[i], mb);
    return off + mb;
}

size_t fss_tree_key_read(const uint8_t *in, size_t i, size_t count, int depth, fss_block *root,
                         fss_block *scw, uint64_t *tcw_l, uint64_t *tcw_r)
{
    size_t off = 0, mb = ((size_t)depth + 7) / 8;
    root[i] = get_block(in);
    off += 16;
    for (int lv = 0; lv < depth; lv++, off += 16)
        scw[(size_t)lv * count + i] = get_block(in + off);
    uint64_t l = get_mask(in + off, mb), r = get_mask(in + off + mb, mb);
    if ((l | r) & ~depth_mask(depth))
        return 0;
    tcw_l[i] = l;
    tcw_r[i] = r;
    return off + 2 * mb;
}
