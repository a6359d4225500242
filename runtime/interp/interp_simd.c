/* Scalar replicas of ggml's x86 SIMD arithmetic (interp_simd.h). The constants are those of
 * ggml_v_expf (vec.h), themselves from Arm's optimized-routines expf. */
#include "runtime/interp/interp_simd.h"

#include <math.h>

/* The dot products are the interpreter's (and the CPU target's attention's) hot loops: on x86
 * they are also compiled for AVX2+FMA and AVX-512 hosts, picked at load time, so that fmaf is one
 * instruction and the 16 lanes one vector. fmaf is correctly rounded either way: the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SIMD_CLONES
#endif

float simd_expf(float x) {
  const float shift = 0x1.8p23f; /* adding it rounds x * log2(e) to an integer n */
  float z = fmaf(x, 0x1.715476p+0f, shift);
  float n = z - shift;
  if (isnan(n))
    return x + x;
  if (fabsf(n) > 192.0f) /* far outside float's range either way */
    return n > 0.0f ? INFINITY : 0.0f;
  /* b = x - n * ln(2), with ln(2) split in two for precision */
  float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
  float u = b * b;
  float p = fmaf(
      fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
      fmaf(0x1.ffffecp-1f, b, 1.0f));
  return ldexpf(p, (int)n); /* _mm512_scalef_ps */
}

float simd_silu(float x) { return x / (1.0f + simd_expf(-x)); }

float simd_sum16(const float lanes[16]) {
  float a[8], b[4];
  for (int l = 0; l < 8; l++)
    a[l] = lanes[l] + lanes[l + 8];
  for (int l = 0; l < 4; l++)
    b[l] = a[l] + a[l + 4];
  return (b[0] + b[2]) + (b[1] + b[3]);
}

SIMD_CLONES float simd_dot16(const float *x, const float *y, int64_t k) {
  float acc[16] = {0};
  int64_t whole = k - k % 16;
  for (int64_t i = 0; i < whole; i += 16)
    for (int l = 0; l < 16; l++)
      acc[l] = fmaf(x[i + l], y[i + l], acc[l]);
  for (int64_t i = whole; i < k; i++) /* lane i % 16 */
    acc[i - whole] = fmaf(x[i], y[i], acc[i - whole]);
  return simd_sum16(acc);
}

SIMD_CLONES float simd_dot64(const float *x, const float *y, int64_t k, bool padded) {
  float acc[4][16] = {{0}};
  int64_t blocks = k - k % 64, whole = padded ? k : blocks;
  for (int64_t i = 0; i < blocks; i += 64)
    for (int j = 0; j < 4; j++)
      for (int l = 0; l < 16; l++)
        acc[j][l] = fmaf(x[i + 16 * j + l], y[i + 16 * j + l], acc[j][l]);
  for (int64_t i = blocks; i < whole; i++) /* the start of a zero-padded block */
    acc[(i % 64) / 16][i % 16] = fmaf(x[i], y[i], acc[(i % 64) / 16][i % 16]);
  float lanes[16];
  for (int l = 0; l < 16; l++)
    lanes[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  double sum = simd_sum16(lanes);
  for (int64_t i = whole; i < k; i++)
    sum += (double)(x[i] * y[i]);
  return (float)sum;
}
