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

int fss_tree_keys_read(const uint8_t *in, size_t kb, size_t first, size_t n, size_t count, int depth,
                       fss_block *root, fss_block *scw, uint64_t *tcw_l, uint64_t *tcw_r)
{
    const size_t mb = ((size_t)depth + 7) / 8, moff = 16 + 16 * (size_t)depth;
    const uint64_t bad = ~depth_mask(depth);
    for (size_t t = 0; t < n; t += FSS_KEYS_READ_TILE) {
        const size_t tn = n - t < FSS_KEYS_READ_TILE ? n - t : FSS_KEYS_READ_TILE;
        const uint8_t *base = in + t * kb;
        for (size_t j = 0; j < tn; j++) {
            const uint8_t *r = base + j * kb;
            const uint64_t l = get_mask(r + moff, mb), rr = get_mask(r + moff + mb, mb);
            if ((l | rr) & bad)
                return 0;
            root[first + t + j] = get_block(r);
            tcw_l[first + t + j] = l;
            tcw_r[first + t + j] = rr;
        }
        for (int lv = 0; lv < depth; lv++) {
            fss_block *dst = scw + (size_t)lv * count + first + t;
            const uint8_t *src = base + 16 + 16 * (size_t)lv;
            for (size_t j = 0; j < tn; j++)
                dst[j] = get_block(src + j * kb);
        }
    }
    return 1;
}
