"""contrastlab's generator (src/core/random.ts) in pure Python: Rng.fromSeed(integer seed), nextU32, uniform, int,
permutation.

xoshiro128** (Blackman & Vigna 2018) seeded by SplitMix32, the same numbers as contrastlab's, bit for bit
(tests/benchmarks/mnistPeer.test.ts). The MNIST peer draws its train/test split with it:
    python3 benchmarks/peers/xoshiro.py SEED N       prints Rng.fromSeed(SEED).permutation(N) as JSON
"""
import json
import sys

M32 = 0xFFFFFFFF


def _splitmix32(seed):
    s = seed & M32

    def nxt():
        nonlocal s
        s = (s + 0x9E3779B9) & M32
        z = s
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
        return (z ^ (z >> 16)) & M32
    return nxt


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class XoshiroRng:
    """Rng.fromSeed(integer seed), nextU32, int, permutation: the same numbers as contrastlab's, bit for bit."""

    def __init__(self, seed):
        h = (seed & M32) ^ (((seed // 4294967296) & M32) * 0x9E3779B1 & M32)
        sm = _splitmix32(h)
        self.s = [sm(), sm(), sm(), sm()]
        if not any(self.s):
            self.s[0] = 1

    def next_u32(self):
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self):
        """Uniform in [0, 1) with 53 random bits (two draws)."""
        hi = self.next_u32() >> 5
        lo = self.next_u32() >> 6
        return (hi * 67108864 + lo) / 9007199254740992

    def int(self, n):
        limit = 0x100000000 - (0x100000000 % n)
        while True:
            x = self.next_u32()
            if x < limit:
                return x % n

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.int(i + 1)
            p[i], p[j] = p[j], p[i]
        return p


if __name__ == "__main__":
    print(json.dumps(XoshiroRng(int(sys.argv[1])).permutation(int(sys.argv[2]))))
