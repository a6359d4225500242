/* GELU in llama.cpp's arithmetic (interp_gelu.h). */
#include "runtime/interp/interp_gelu.h"

#include <math.h>

#include "runtime/quant/quant.h"

/* In ggml's order of operations (x * (1 + a x^2) rather than x + a x^3), with the multiply-add
 * that its x86 build fuses, so that the f16 table llama.cpp builds from it rounds to the same
 * values (without the fma, 2 of the default model's 24576 first-layer GeGLU outputs differ by an
 * f16 step). */
float interp_gelu_tanh(float x) {
  const float c = 0.79788456080286535587989211986876f; /* sqrt(2/pi) */
  return 0.5f * x * (1.0f + tanhf(c * x * fmaf(0.044715f * x, x, 1.0f)));
}

float interp_gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f)); }

uint16_t interp_gelu_f16_entry(uint16_t h) {
  return quant_f32_to_f16(interp_gelu_tanh(quant_f16_to_f32(h)));
}

float interp_gelu_tanh_f16(float x) {
  if (x <= -10.0f)
    return 0.0f;
  if (x >= 10.0f)
    return x;
  return quant_f16_to_f32(interp_gelu_f16_entry(quant_f32_to_f16(x)));
}
