/* f16 and bf16 <-> f32, done on the bit patterns so the result never depends on the compiler or on
 * hardware conversion instructions (which differ in how they treat NaN payloads). */
#include <string.h>

#include "runtime/quant/quant.h"

#define F32_SIGN 0x80000000u
#define F32_ABS 0x7fffffffu
#define F32_INF 0x7f800000u
#define F32_MANT_BITS 23
#define F16_MANT_BITS 10
#define F16_INF 0x7c00u
#define F16_QUIET 0x0200u
/* f32 exponent bias minus f16 exponent bias (127 - 15), shifted into the f32 exponent field. */
#define F32_TO_F16_REBIAS (112u << F32_MANT_BITS)
/* |f| from which f16 rounds to infinity: halfway between 65504 (the largest f16) and 65536. */
#define F16_OVERFLOW_ABS 0x477ff000u
/* |f| of 2^-14, the smallest normal f16. */
#define F16_MIN_NORMAL_ABS 0x38800000u

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Shifts right by `shift` bits (1..31), rounding to nearest with ties to even. */
static uint32_t shift_right_round_even(uint32_t value, unsigned shift) {
  const uint32_t half = 1u << (shift - 1);
  const uint32_t rest = value & ((1u << shift) - 1);
  uint32_t kept = value >> shift;
  if (rest > half || (rest == half && (kept & 1u)))
    kept++;
  return kept;
}

float quant_f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> F16_MANT_BITS) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  const uint32_t wide_mantissa = mantissa << (F32_MANT_BITS - F16_MANT_BITS);
  if (exponent == 0x1fu) /* infinity or NaN; the payload is kept */
    return f32_from_bits(sign | F32_INF | wide_mantissa);
  if (exponent != 0)
    return f32_from_bits(sign |
                         (((exponent << F32_MANT_BITS) + F32_TO_F16_REBIAS) | wide_mantissa));
  /* Zero or subnormal: mantissa * 2^-24, a product that is exact in f32. */
  return f32_from_bits(sign | f32_bits((float)mantissa * 0x1p-24f));
}

uint16_t quant_f32_to_f16(float f) {
  const uint32_t bits = f32_bits(f);
  const uint16_t sign = (uint16_t)((bits & F32_SIGN) >> 16);
  const uint32_t abs = bits & F32_ABS;
  if (abs > F32_INF) /* NaN: keep it quiet, so a payload cut to zero bits cannot make it infinity */
    return sign | F16_INF | F16_QUIET | (uint16_t)((abs >> 13) & 0x3ffu);
  if (abs >= F16_OVERFLOW_ABS)
    return sign | F16_INF;
  if (abs >= F16_MIN_NORMAL_ABS) {
    /* Rebias the exponent, then drop 13 mantissa bits; a carry out of the mantissa correctly
     * bumps the exponent. */
    return sign | (uint16_t)shift_right_round_even(abs - F32_TO_F16_REBIAS, 13);
  }
  /* f16 subnormal (or zero): the result is |f| / 2^-24 rounded to an integer, possibly 1024, the
   * smallest normal, whose bit pattern is the same number. */
  const uint32_t exponent = abs >> F32_MANT_BITS;
  if (exponent < 102) /* |f| < 2^-25 rounds to zero; f32 subnormals are among them */
    return sign;
  const uint32_t significand = (abs & 0x7fffffu) | (1u << F32_MANT_BITS);
  /* |f| = significand * 2^(exponent - 150), so |f| / 2^-24 = significand >> (126 - exponent). */
  return sign | (uint16_t)shift_right_round_even(significand, 126 - exponent);
}

float quant_bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

uint16_t quant_f32_to_bf16(float f) {
  const uint32_t bits = f32_bits(f);
  if ((bits & F32_ABS) > F32_INF) /* NaN: truncate and force the quiet bit */
    return (uint16_t)((bits >> 16) | 0x40u);
  /* Round to nearest even; finite values near the top correctly carry into infinity. */
  return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}
