/* f16 and bf16 conversions at their edges: exact round trips, ties to even, subnormals, overflow,
 * infinities and NaN. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "runtime/quant/quant.h"

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static float float_of(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

Test(quant_half, f16_round_trips_every_non_nan_value) {
  for (uint32_t h = 0; h <= 0xffff; h++) {
    const float f = quant_f16_to_f32((uint16_t)h);
    if (isnan(f))
      continue;
    cr_assert_eq(quant_f32_to_f16(f), h, "f16 %04x -> %a -> %04x", h, (double)f,
                 quant_f32_to_f16(f));
  }
}

Test(quant_half, f16_decodes_known_values) {
  cr_assert_eq(quant_f16_to_f32(0x3c00), 1.0f);
  cr_assert_eq(quant_f16_to_f32(0xc000), -2.0f);
  cr_assert_eq(quant_f16_to_f32(0x7bff), 65504.0f);
  cr_assert_eq(quant_f16_to_f32(0x0400), 0x1p-14f);   /* smallest normal */
  cr_assert_eq(quant_f16_to_f32(0x03ff), 0x3ffp-24f); /* largest subnormal */
  cr_assert_eq(quant_f16_to_f32(0x0001), 0x1p-24f);   /* smallest subnormal */
  cr_assert_eq(quant_f16_to_f32(0x8001), -0x1p-24f);
  cr_assert_eq(bits_of(quant_f16_to_f32(0x8000)), 0x80000000u); /* -0 keeps its sign */
  cr_assert(isinf(quant_f16_to_f32(0x7c00)) && quant_f16_to_f32(0x7c00) > 0);
  cr_assert(isinf(quant_f16_to_f32(0xfc00)) && quant_f16_to_f32(0xfc00) < 0);
  cr_assert(isnan(quant_f16_to_f32(0x7e00)));
  cr_assert(isnan(quant_f16_to_f32(0x7c01))); /* signalling NaN stays a NaN */
}

Test(quant_half, f16_rounds_ties_to_even) {
  /* Between 1 and 1 + 2^-10 the tie goes down to the even 1; between 1 + 2^-10 and 1 + 2^-9 up. */
  cr_assert_eq(quant_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
  cr_assert_eq(quant_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
  /* Just off the tie rounds to the nearer neighbour. */
  cr_assert_eq(quant_f32_to_f16(float_of(bits_of(1.0f + 0x1p-11f) + 1)), 0x3c01);
  cr_assert_eq(quant_f32_to_f16(float_of(bits_of(1.0f + 0x1p-11f) - 1)), 0x3c00);
  /* A carry out of the mantissa moves to the next binade. */
  cr_assert_eq(quant_f32_to_f16(2.0f - 0x1p-12f), 0x4000);
}

Test(quant_half, f16_overflows_to_infinity_at_the_right_place) {
  cr_assert_eq(quant_f32_to_f16(65504.0f), 0x7bff);
  cr_assert_eq(quant_f32_to_f16(65519.996f), 0x7bff); /* just below the tie with 65536 */
  cr_assert_eq(quant_f32_to_f16(65520.0f), 0x7c00);   /* the tie rounds to "even" infinity */
  cr_assert_eq(quant_f32_to_f16(-1e10f), 0xfc00);
  cr_assert_eq(quant_f32_to_f16(INFINITY), 0x7c00);
  cr_assert_eq(quant_f32_to_f16(-INFINITY), 0xfc00);
}

Test(quant_half, f16_subnormals_round_correctly) {
  cr_assert_eq(quant_f32_to_f16(0x1p-24f), 0x0001);
  cr_assert_eq(quant_f32_to_f16(0x1p-25f), 0x0000);        /* tie between 0 and 2^-24 goes to 0 */
  cr_assert_eq(quant_f32_to_f16(0x1.8p-24f), 0x0002);      /* tie between 1 and 2 goes to 2 */
  cr_assert_eq(quant_f32_to_f16(0x1.000002p-25f), 0x0001); /* just above half rounds up */
  cr_assert_eq(quant_f32_to_f16(0x1p-26f), 0x0000);
  cr_assert_eq(quant_f32_to_f16(-0x1p-30f), 0x8000);    /* underflow keeps the sign */
  cr_assert_eq(quant_f32_to_f16(0x1p-149f), 0x0000);    /* f32 subnormal */
  cr_assert_eq(quant_f32_to_f16(0x3ff.8p-24f), 0x0400); /* rounds up into the smallest normal */
  cr_assert_eq(quant_f32_to_f16(0x3ff.4p-24f), 0x03ff);
}

Test(quant_half, f16_nan_stays_nan_and_quiet) {
  const uint16_t quiet = quant_f32_to_f16(NAN);
  cr_assert_eq(quiet & 0x7c00, 0x7c00);
  cr_assert_neq(quiet & 0x0200, 0);
  /* A signalling f32 NaN whose payload lives only in the low bits must not become infinity. */
  const uint16_t low_payload = quant_f32_to_f16(float_of(0x7f800001u));
  cr_assert(isnan(quant_f16_to_f32(low_payload)));
  cr_assert_eq(quant_f32_to_f16(float_of(0xffc00000u)) & 0x8000, 0x8000); /* sign kept */
}

Test(quant_half, bf16_is_the_top_half_of_f32) {
  cr_assert_eq(quant_bf16_to_f32(0x3f80), 1.0f);
  cr_assert_eq(quant_bf16_to_f32(0xc040), -3.0f);
  cr_assert_eq(bits_of(quant_bf16_to_f32(0x0001)), 0x00010000u); /* subnormal, not flushed */
  for (uint32_t h = 0; h <= 0xffff; h++) {
    const float f = quant_bf16_to_f32((uint16_t)h);
    if (!isnan(f))
      cr_assert_eq(quant_f32_to_bf16(f), h, "bf16 %04x", h);
  }
}

Test(quant_half, bf16_rounds_ties_to_even_and_overflows) {
  cr_assert_eq(quant_f32_to_bf16(float_of(0x3f808000u)), 0x3f80); /* tie, even stays */
  cr_assert_eq(quant_f32_to_bf16(float_of(0x3f818000u)), 0x3f82); /* tie, odd goes up */
  cr_assert_eq(quant_f32_to_bf16(float_of(0x3f808001u)), 0x3f81);
  cr_assert_eq(quant_f32_to_bf16(float_of(0x3f807fffu)), 0x3f80);
  cr_assert_eq(quant_f32_to_bf16(float_of(0x7f7fffffu)), 0x7f80); /* FLT_MAX rounds to inf */
  cr_assert_eq(quant_f32_to_bf16(-INFINITY), 0xff80);
  cr_assert_eq(quant_f32_to_bf16(float_of(0x00008000u)), 0x0000); /* subnormal tie to even */
  cr_assert_eq(quant_f32_to_bf16(float_of(0x00018000u)), 0x0002);
}

Test(quant_half, bf16_nan_is_forced_quiet) {
  /* 0x7f800001 would truncate to 0x7f80, infinity; the quiet bit keeps it a NaN. */
  cr_assert_eq(quant_f32_to_bf16(float_of(0x7f800001u)), 0x7fc0);
  cr_assert_eq(quant_f32_to_bf16(float_of(0xffa12345u)), 0xffe1);
  cr_assert_eq(quant_f32_to_bf16(float_of(0x7fc00000u)), 0x7fc0);
}
