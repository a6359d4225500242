/* Scalar replicas of the few SIMD routines of llama.cpp's x86 CPU backend (AVX-512 build) whose
 * roundings differ from plain C: its exponential and its 16-lane reductions. The interpreter uses
 * them where ggml does (softmax, silu, f16 dot products), so that its results are llama.cpp's bit
 * for bit; each is element-wise or lane-exact, so a scalar loop reproduces it exactly. */
#ifndef CHORD_RUNTIME_INTERP_SIMD_H
#define CHORD_RUNTIME_INTERP_SIMD_H

#include <stdbool.h>
#include <stdint.h>

/* ggml_v_expf: exp by a range reduction to 2^n * p(b), p a degree-5 polynomial evaluated with
 * fused multiply-adds; within 1.5 ulp of exp, but not always libm's expf. */
float simd_expf(float x);

/* silu as ggml_v_silu computes it: x / (1 + simd_expf(-x)). */
float simd_silu(float x);

/* _mm512_reduce_add_ps of 16 lanes: lanes l and l+8 added, then l and l+4, l and l+2, l and
 * l+1. */
float simd_sum16(const float lanes[16]);

/* A dot product of length k as llamafile's tinyBLAS computes it with 16-wide f32 vectors (its f16
 * kernels, after widening): lane l accumulates x[i] * y[i] for i = l mod 16 by fused
 * multiply-adds in order, then simd_sum16. Elements past k count as zeros (ggml pads the KV cache
 * to whole vectors with zeros). */
float simd_dot16(const float *x, const float *y, int64_t k);

/* A dot product as ggml_vec_dot_f32/_f16 compute it with AVX-512 (what llama.cpp uses for a
 * single activation row): four 16-lane accumulators over blocks of 64 elements (accumulator j
 * takes elements 16j..16j+15 of each block) by fused multiply-adds, combined 0+2, 1+3, then the
 * two, then simd_sum16; the elements past the last whole block of 64 added one at a time in
 * double, unless padded: then they count as the start of a block filled up with zeros (the KV
 * cache dims, which llama.cpp pads to 256). */
float simd_dot64(const float *x, const float *y, int64_t k, bool padded);

#endif
