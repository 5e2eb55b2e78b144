#pragma once
// FAKELESS_CLONES on a function with a hot loop: GCC compiles it twice, for baseline x86-64
// (SSE2) and for AVX2, and the dynamic loader picks one for the CPU at hand (target_clones,
// an ifunc). The binary stays portable (no -march); the AVX2 copy performs the same integer
// and IEEE float operations in the same order per element ("avx2" does not enable FMA, so
// no multiply-add is contracted), hence bit-identical results. Elsewhere: one plain copy.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define FAKELESS_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FAKELESS_CLONES
#endif
