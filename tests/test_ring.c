/* Ring Z_{2^n}: each operation against 128-bit integer arithmetic, at the edge values and
 * at random, for every n in 1..64. */
#include "check.h"
#include "fss/ring.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

static uint64_t ref_mod(i128 v, int n)
{
    u128 m = ((u128)1 << n) - 1;
    return (uint64_t)((u128)v & m);
}

int main(void)
{
    fss_rng *rng = check_init("test_ring");
    for (int n = 1; n <= 64; n++) {
        uint64_t m = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
        CHECK(fss_ring_mask(n) == m, "mask n=%d", n);
        uint64_t edge[] = {0, 1, m, m - 1, m >> 1, (m >> 1) + 1, 2 & m};
        for (int r = 0; r < 400; r++) {
            uint64_t a = r < 7 ? edge[r] : check_u64(rng) & m;
            uint64_t b = r < 49 ? edge[r % 7] : check_u64(rng) & m;
            if (r < 49)
                a = edge[r / 7];
            i128 sa = (a >> (n - 1)) & 1 ? (i128)a - ((i128)1 << n) : (i128)a;
            i128 sb = (b >> (n - 1)) & 1 ? (i128)b - ((i128)1 << n) : (i128)b;
            CHECK(fss_ring_add(a, b, n) == ref_mod((i128)a + b, n), "add n=%d", n);
            CHECK(fss_ring_sub(a, b, n) == ref_mod((i128)a - b, n), "sub n=%d", n);
            CHECK(fss_ring_mul(a, b, n) == ref_mod((i128)((u128)a * b), n), "mul n=%d", n);
            CHECK(fss_ring_neg(a, n) == ref_mod(-(i128)a, n), "neg n=%d", n);
            CHECK(fss_ring_cneg(a, 0, n) == a && fss_ring_cneg(a, 1, n) == ref_mod(-(i128)a, n), "cneg n=%d", n);
            CHECK(fss_ring_to_signed(a, n) == (int64_t)sa, "to_signed n=%d a=%llx", n, (unsigned long long)a);
            CHECK(fss_ring_from_signed((int64_t)sa, n) == a, "from_signed n=%d", n);
            CHECK(fss_ring_lt_u(a, b, n) == (a < b), "lt_u n=%d", n);
            CHECK(fss_ring_lt_s(a, b, n) == (sa < sb), "lt_s n=%d", n);
            CHECK(fss_ring_reduce(a | ~m, n) == a, "reduce n=%d", n);
            int bi = (int)(check_u64(rng) % (uint64_t)n);
            CHECK(fss_ring_bit(a, bi) == ((a >> bi) & 1), "bit n=%d", n);
            for (int w = n; w <= 64; w += 7)
                CHECK(fss_ring_sext(a, n, w) == ref_mod(sa, w), "sext %d->%d", n, w);
        }
    }
    fss_rng_free(rng);
    return check_summary();
}
