/* The sampler's random numbers: xoshiro256** seeded through splitmix64, both as published by
 * Blackman and Vigna (prng.di.unimi.it). Integer-only, so a seed gives the same stream on every
 * machine and compiler; llama.cpp's std::mt19937 stream is deliberately not reproduced. */
#include <time.h>
#include <unistd.h>

#include "runtime/sample/sample_internal.h"

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void sampler_rng_seed(sampler_rng *rng, uint64_t seed) {
  /* splitmix64 never yields four zero words, the one state xoshiro cannot leave */
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64(&seed);
}

uint64_t sampler_rng_next(sampler_rng *rng) {
  uint64_t *s = rng->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double sampler_rng_uniform(sampler_rng *rng) {
  return (double)(sampler_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t sampler_rng_entropy_seed(void) {
  uint64_t seed = 0;
  /* getentropy exists on Linux, the BSDs, macOS and WASI; the clock is the fallback */
  if (getentropy(&seed, sizeof seed) != 0) {
    struct timespec now = {0};
    timespec_get(&now, TIME_UTC);
    uint64_t mix = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    mix ^= (uint64_t)(uintptr_t)&now; /* differs between processes started in the same tick */
    seed = splitmix64(&mix);
  }
  return seed == SAMPLER_SEED_RANDOM ? 0 : seed;
}
