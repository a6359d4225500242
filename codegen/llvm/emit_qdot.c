/* Quantized dot products as LLVM IR (codegen/llvm/emit_qdot.h). Per 32-element block: the
 * weight's 32 levels as <32 x i32>, times the activation's, summed four by four into eight lanes,
 * converted to f32 and added to an <8 x float> accumulator by llvm.fma with d_w * d_a; at the end
 * lanes l and l+4 are added, then 0+2 and 1+3, then the two (ggml's hsum_float_8). Integer sums
 * are exact in any order, so only the float steps are pinned down, and they are written out. */
#include "codegen/llvm/emit_qdot.h"

#include <stdio.h>
#include <string.h>

/* The f16 at p as f32. */
static LLVMValueRef load_f16(emitter *e, LLVMValueRef p) {
  return LLVMBuildFPExt(e->b, emit_load(e, e->f16, p), e->f32, "");
}

/* 16 bytes of nibbles at p as 32 levels: the low nibbles (elements 0..15), then the high ones. */
static LLVMValueRef nibbles(emitter *e, LLVMValueRef p) {
  LLVMValueRef bytes =
      LLVMBuildZExt(e->b, emit_load(e, emit_vec(e->i8, 16), p), emit_vec(e->i32, 16), "");
  LLVMValueRef lo = LLVMBuildAnd(e->b, bytes, emit_splat_i32(e, 15, 16), "");
  LLVMValueRef hi = LLVMBuildLShr(e->b, bytes, emit_splat_i32(e, 4, 16), "");
  int order[32];
  for (int i = 0; i < 32; i++)
    order[i] = i;
  return LLVMBuildShuffleVector(e->b, lo, hi, emit_i32_vector(e, order, 32), "");
}

/* q4_0 (18 bytes: d, 16 bytes of nibbles): level = nibble - 8. */
static LLVMValueRef levels_q4_0(emitter *e, LLVMValueRef blk) {
  return LLVMBuildSub(e->b, nibbles(e, emit_byte_ptr(e, blk, 2)), emit_splat_i32(e, 8, 32), "");
}

/* q5_0 (22 bytes: d, 32 fifth bits as a little-endian u32, nibbles): bit j of the u32 is bit 4
 * of element j; level = value - 16. */
static LLVMValueRef levels_q5_0(emitter *e, LLVMValueRef blk) {
  LLVMValueRef qh = emit_load(e, e->i32, emit_byte_ptr(e, blk, 2));
  LLVMValueRef qhv =
      LLVMBuildInsertElement(e->b, LLVMGetUndef(emit_vec(e->i32, 32)), qh, emit_i32(e, 0), "");
  qhv = LLVMBuildShuffleVector(e->b, qhv, LLVMGetUndef(emit_vec(e->i32, 32)),
                               emit_splat_i32(e, 0, 32), "");
  int shifts[32];
  for (int i = 0; i < 32; i++)
    shifts[i] = i;
  LLVMValueRef bits =
      LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, qhv, emit_i32_vector(e, shifts, 32), ""),
                   emit_splat_i32(e, 1, 32), "");
  LLVMValueRef high = LLVMBuildShl(e->b, bits, emit_splat_i32(e, 4, 32), "");
  LLVMValueRef v = LLVMBuildOr(e->b, nibbles(e, emit_byte_ptr(e, blk, 6)), high, "");
  return LLVMBuildSub(e->b, v, emit_splat_i32(e, 16, 32), "");
}

/* q8_0 (34 bytes: d, 32 signed levels). */
static LLVMValueRef levels_q8_0(emitter *e, LLVMValueRef blk) {
  return LLVMBuildSExt(e->b, emit_load(e, emit_vec(e->i8, 32), emit_byte_ptr(e, blk, 2)),
                       emit_vec(e->i32, 32), "");
}

/* ---- the kernels ----------------------------------------------------------------------------- */

/* The function parameters every kernel shares: the weight blocks and the activation row as the
 * interpreter decodes it (qdot_row: levels, f32 scales, sums of 16 and of 32 levels). */
typedef struct operands {
  LLVMValueRef w, a_q, a_d, a_s16, a_s32;
} operands;

/* What a kernel accumulates: eight f32 lanes and q4_K's four min lanes (per-row order), or one
 * f32 sum (the tiled kernel's order). With defer set, a tiled super-block only leaves its
 * integers and the weight's scales (the fields after it) for the caller's float steps, which
 * then run for four activation rows at once (dot_rows). */
typedef struct accumulators {
  LLVMValueRef lanes, mins, sum;
  bool defer;
  LLVMValueRef ints, min_products, d_w, dmin_w;
} accumulators;

typedef struct qdot_kind {
  ir_dtype type;
  int block_elems, block_bytes;
  bool mins;
  /* block i (a 32-element block or a 256-element super-block) into the accumulators */
  void (*block)(emitter *e, const struct qdot_kind *k, const operands *o, LLVMValueRef i,
                bool tiled, accumulators *acc);
  /* the 32-element types: a block's levels as <32 x i32> (block_32 reads them) */
  LLVMValueRef (*levels)(emitter *e, LLVMValueRef block);
} qdot_kind;

/* The activation's 32 levels starting at element index (an i64). */
static LLVMValueRef act_levels(emitter *e, const operands *o, LLVMValueRef index) {
  return LLVMBuildSExt(e->b, emit_load(e, emit_vec(e->i8, 32), emit_gep(e, e->i8, o->a_q, index)),
                       emit_vec(e->i32, 32), "");
}

/* The eight lanes of 32 products: lane l = the sum of products 4l .. 4l+3. */
static LLVMValueRef lanes_of(emitter *e, LLVMValueRef products) {
  LLVMValueRef sum = NULL;
  for (int j = 0; j < 4; j++) {
    int pick[8];
    for (int l = 0; l < 8; l++)
      pick[l] = 4 * l + j;
    LLVMValueRef part = LLVMBuildShuffleVector(e->b, products, LLVMGetUndef(emit_vec(e->i32, 32)),
                                               emit_i32_vector(e, pick, 8), "");
    sum = sum ? LLVMBuildAdd(e->b, sum, part, "") : part;
  }
  return sum;
}

/* The eight lanes of a weight chunk's 32 levels (as i32; they fit in 8 bits) times the
 * activation's 32 levels at element index: lane l = the sum of products 4l .. 4l+3, exact. On
 * x86 the host's byte dot products compute them as llama.cpp's kernels do (vpdpbusd with VNNI,
 * vpmaddubsw + vpmaddwd with AVX2): unsigned times signed bytes, so signed weights take the sign
 * trick (|w| times a with w's sign); no pair reaches the i16 saturation (|a| <= 127, |w| <= 127).
 */
static LLVMValueRef dot4(emitter *e, LLVMValueRef levels, bool w_unsigned, const operands *o,
                         LLVMValueRef index) {
  if (e->isa == EMIT_ISA_GENERIC)
    return lanes_of(e, LLVMBuildMul(e->b, levels, act_levels(e, o, index), ""));
  LLVMTypeRef v32i8 = emit_vec(e->i8, 32), v8i32 = emit_vec(e->i32, 8);
  LLVMValueRef w = LLVMBuildTrunc(e->b, levels, v32i8, "");
  LLVMValueRef a = emit_load(e, v32i8, emit_gep(e, e->i8, o->a_q, index));
  if (!w_unsigned) { /* vpsignb and vpabsb, as ggml's kernels */
    LLVMValueRef sign_args[2] = {a, w};
    a = emit_intrinsic(e, "llvm.x86.avx2.psign.b", NULL, sign_args, 2);
    LLVMValueRef abs_args[2] = {w, LLVMConstInt(e->i1, 0, 0)};
    w = emit_intrinsic(e, "llvm.abs", v32i8, abs_args, 2);
  }
  if (e->isa >= EMIT_ISA_VNNI) {
    LLVMValueRef args[3] = {LLVMConstNull(v8i32), LLVMBuildBitCast(e->b, w, v8i32, ""),
                            LLVMBuildBitCast(e->b, a, v8i32, "")};
    return emit_intrinsic(e, "llvm.x86.avx512.vpdpbusd.256", NULL, args, 3);
  }
  LLVMValueRef pair_args[2] = {w, a};
  LLVMValueRef pairs = emit_intrinsic(e, "llvm.x86.avx2.pmadd.ub.sw", NULL, pair_args, 2);
  LLVMValueRef ones[16];
  for (int i = 0; i < 16; i++)
    ones[i] = LLVMConstInt(e->i16, 1, 0);
  LLVMValueRef quad_args[2] = {pairs, LLVMConstVector(ones, 16)};
  return emit_intrinsic(e, "llvm.x86.avx2.pmadd.wd", NULL, quad_args, 2);
}

/* acc + the eight lanes of dot4(levels, a) times the sub-block scales, for the K-quants'
 * unsigned levels: pairs (<16 x i16>) holds lane l's scale in elements 2l and 2l + 1, one per
 * pair of products. The same integer in every lane as dot4 then a multiply, exact. On x86 the
 * scale goes into the 16-bit step (pmaddubsw's pairs times the scale by pmaddwd, or VNNI's
 * vpdpwssd accumulating them), which spares the 32-bit multiply (vpmulld, two uops and the
 * kernel's bottleneck) and the add: no pair reaches i16 (levels <= 63, |a| <= 127) and no lane
 * i32 (two pairs times a scale of at most 128, summed over eight chunks). */
static LLVMValueRef scaled_dot4(emitter *e, LLVMValueRef levels, LLVMValueRef pairs_scale,
                                const operands *o, LLVMValueRef index, LLVMValueRef acc) {
  LLVMTypeRef v8i32 = emit_vec(e->i32, 8);
  if (e->isa == EMIT_ISA_GENERIC) {
    int even[8];
    for (int l = 0; l < 8; l++)
      even[l] = 2 * l;
    LLVMValueRef scales =
        LLVMBuildSExt(e->b,
                      LLVMBuildShuffleVector(e->b, pairs_scale, LLVMGetUndef(emit_vec(e->i16, 16)),
                                             emit_i32_vector(e, even, 8), ""),
                      v8i32, "");
    LLVMValueRef part = LLVMBuildMul(e->b, dot4(e, levels, true, o, index), scales, "");
    return acc ? LLVMBuildAdd(e->b, acc, part, "") : part;
  }
  LLVMTypeRef v32i8 = emit_vec(e->i8, 32);
  LLVMValueRef pair_args[2] = {LLVMBuildTrunc(e->b, levels, v32i8, ""),
                               emit_load(e, v32i8, emit_gep(e, e->i8, o->a_q, index))};
  LLVMValueRef pairs = emit_intrinsic(e, "llvm.x86.avx2.pmadd.ub.sw", NULL, pair_args, 2);
  if (e->isa >= EMIT_ISA_VNNI) {
    LLVMValueRef args[3] = {acc ? acc : LLVMConstNull(v8i32),
                            LLVMBuildBitCast(e->b, pairs, v8i32, ""),
                            LLVMBuildBitCast(e->b, pairs_scale, v8i32, "")};
    return emit_intrinsic(e, "llvm.x86.avx512.vpdpwssd.256", NULL, args, 3);
  }
  LLVMValueRef quad_args[2] = {pairs, pairs_scale};
  LLVMValueRef part = emit_intrinsic(e, "llvm.x86.avx2.pmadd.wd", NULL, quad_args, 2);
  return acc ? LLVMBuildAdd(e->b, acc, part, "") : part;
}

/* Lane i of two <n x i16> (n 8 or 16): x[2i] * y[2i] + x[2i + 1] * y[2i + 1] as i32, exact
 * (pmaddwd on x86). */
static LLVMValueRef pair_dot(emitter *e, LLVMValueRef x, LLVMValueRef y, unsigned n) {
  if (e->isa != EMIT_ISA_GENERIC) {
    LLVMValueRef args[2] = {x, y};
    return emit_intrinsic(e, n == 8 ? "llvm.x86.sse2.pmadd.wd" : "llvm.x86.avx2.pmadd.wd", NULL,
                          args, 2);
  }
  LLVMTypeRef wide = emit_vec(e->i32, n);
  LLVMValueRef p =
      LLVMBuildMul(e->b, LLVMBuildSExt(e->b, x, wide, ""), LLVMBuildSExt(e->b, y, wide, ""), "");
  int even[8], odd[8];
  for (unsigned i = 0; i < n / 2; i++)
    even[i] = (int)(2 * i), odd[i] = (int)(2 * i + 1);
  LLVMValueRef undef = LLVMGetUndef(wide);
  return LLVMBuildAdd(
      e->b, LLVMBuildShuffleVector(e->b, p, undef, emit_i32_vector(e, even, n / 2), ""),
      LLVMBuildShuffleVector(e->b, p, undef, emit_i32_vector(e, odd, n / 2), ""), "");
}

/* <16 x i16> whose elements 0..7 are v's element first and 8..15 its element second. */
static LLVMValueRef two_halves(emitter *e, LLVMValueRef v, int first, int second) {
  int pick[16];
  for (int p = 0; p < 16; p++)
    pick[p] = p < 8 ? first : second;
  return LLVMBuildShuffleVector(e->b, v, LLVMGetUndef(LLVMTypeOf(v)), emit_i32_vector(e, pick, 16),
                                "");
}

/* n consecutive i16 of an activation's sums (per_block of them per block) from block i. */
static LLVMValueRef act_sums(emitter *e, LLVMValueRef sums, int per_block, LLVMValueRef i,
                             unsigned n) {
  return emit_load(e, emit_vec(e->i16, n), emit_gep(e, e->i16, sums, emit_mul64(e, i, per_block)));
}

/* 32-element types against q8_0: fma(d_w * d_a, lanes, acc) per block. */
static void block_32(emitter *e, const qdot_kind *k, const operands *o, LLVMValueRef i, bool tiled,
                     accumulators *acc) {
  (void)tiled;
  LLVMValueRef wblk = emit_gep(e, e->i8, o->w, emit_mul64(e, i, k->block_bytes));
  LLVMValueRef lanes = dot4(e, k->levels(e, wblk), false, o, emit_mul64(e, i, 32));
  LLVMValueRef d_a = emit_load(e, e->f32, emit_gep(e, e->f32, o->a_d, i));
  LLVMValueRef d = LLVMBuildFMul(e->b, load_f16(e, wblk), d_a, "");
  acc->lanes = emit_fma(e, emit_splat(e, d, e->f32, 8),
                        LLVMBuildSIToFP(e->b, lanes, emit_vec(e->f32, 8), ""), acc->lanes);
}

static LLVMValueRef concat(emitter *e, LLVMValueRef x, LLVMValueRef y, unsigned n) {
  int order[64];
  for (unsigned l = 0; l < 2 * n; l++)
    order[l] = (int)l;
  return LLVMBuildShuffleVector(e->b, x, y, emit_i32_vector(e, order, 2 * n), "");
}

/* The 32-element types in groups of eight blocks: the eight d_w * d_a of a row as one vector
 * multiply (each lane the product block_32 takes). Paired (AVX-512, an even number of rows): two
 * activation rows share one 64-byte vector, row 2p in the low eight lanes and 2p + 1 in the high
 * ones, so that each block takes one vpdpbusd (|w| twice against both rows' levels, with w's sign
 * by a masked subtract: where w is 0 the product is 0 either way), one conversion and one fused
 * multiply-add for the two; acc_vars then holds n_rows / 2 <16 x float>, else n_rows
 * <8 x float>. Either way every lane gets fma(d, lanes, acc) block by block, in order. Rows share
 * the weight row, so its levels are decoded once for all. */
static void group_32(emitter *e, const qdot_kind *k, const operands *o, int n_rows, bool paired,
                     LLVMValueRef group, LLVMValueRef *acc_vars) {
  enum { MAX = 8, GROUP = 8 };
  LLVMTypeRef v8f32 = emit_vec(e->f32, 8), v16f32 = emit_vec(e->f32, 16);
  LLVMValueRef first = emit_mul64(e, group, GROUP);
  LLVMValueRef d_w = LLVMGetUndef(v8f32), wblk[GROUP];
  for (int b = 0; b < GROUP; b++) {
    wblk[b] = emit_gep(e, e->i8, o[0].w, emit_mul64(e, emit_add64(e, first, b), k->block_bytes));
    d_w = LLVMBuildInsertElement(e->b, d_w, load_f16(e, wblk[b]), emit_i32(e, b), "");
  }
  int n_acc = paired ? n_rows / 2 : n_rows;
  LLVMValueRef d[MAX], acc[MAX];
  for (int j = 0; j < n_rows; j++)
    d[j] = LLVMBuildFMul(e->b, d_w, emit_load(e, v8f32, emit_gep(e, e->f32, o[j].a_d, first)), "");
  for (int j = 0; j < n_acc; j++)
    acc[j] = emit_get(e, paired ? v16f32 : v8f32, acc_vars[j]);
  for (int b = 0; b < GROUP; b++) {
    LLVMValueRef index = emit_mul64(e, emit_add64(e, first, b), 32);
    LLVMValueRef levels = k->levels(e, wblk[b]);
    if (!paired) {
      for (int j = 0; j < n_rows; j++) {
        LLVMValueRef lanes = dot4(e, levels, false, &o[j], index);
        LLVMValueRef dj = LLVMBuildExtractElement(e->b, d[j], emit_i32(e, b), "");
        acc[j] = emit_fma(e, emit_splat(e, dj, e->f32, 8), LLVMBuildSIToFP(e->b, lanes, v8f32, ""),
                          acc[j]);
      }
      continue;
    }
    LLVMTypeRef v32i8 = emit_vec(e->i8, 32), v64i8 = emit_vec(e->i8, 64),
                v16i32 = emit_vec(e->i32, 16);
    LLVMValueRef w8 = LLVMBuildTrunc(e->b, levels, v32i8, "");
    LLVMValueRef w = concat(e, w8, w8, 32), zero = LLVMConstNull(v64i8);
    LLVMValueRef negative = LLVMBuildICmp(e->b, LLVMIntSLT, w, zero, "");
    LLVMValueRef abs_args[2] = {w, LLVMConstInt(e->i1, 0, 0)};
    LLVMValueRef magnitude =
        LLVMBuildBitCast(e->b, emit_intrinsic(e, "llvm.abs", v64i8, abs_args, 2), v16i32, "");
    int pick[16];
    for (int l = 0; l < 16; l++)
      pick[l] = l < 8 ? b : 8 + b; /* row 2p's d of block b, then row 2p + 1's */
    for (int p = 0; p < n_acc; p++) {
      LLVMValueRef a = concat(e, emit_load(e, v32i8, emit_gep(e, e->i8, o[2 * p].a_q, index)),
                              emit_load(e, v32i8, emit_gep(e, e->i8, o[2 * p + 1].a_q, index)), 32);
      a = LLVMBuildSelect(e->b, negative, LLVMBuildSub(e->b, zero, a, ""), a, "");
      LLVMValueRef args[3] = {LLVMConstNull(v16i32), magnitude,
                              LLVMBuildBitCast(e->b, a, v16i32, "")};
      LLVMValueRef lanes = emit_intrinsic(e, "llvm.x86.avx512.vpdpbusd.512", NULL, args, 3);
      LLVMValueRef dp =
          LLVMBuildShuffleVector(e->b, d[2 * p], d[2 * p + 1], emit_i32_vector(e, pick, 16), "");
      acc[p] = emit_fma(e, dp, LLVMBuildSIToFP(e->b, lanes, v16f32, ""), acc[p]);
    }
  }
  for (int j = 0; j < n_acc; j++)
    emit_set(e, acc_vars[j], acc[j]);
}

/* The block loop of a 32-element type for n_rows activation rows against one weight row: groups
 * of eight blocks (group_32), then the blocks left one by one (block_32); results[j] row j's
 * hsum_float_8. */
static void dot_rows_32(emitter *e, const qdot_kind *k, const operands *o, int n_rows,
                        LLVMValueRef k_elems, LLVMValueRef *results) {
  enum { MAX = 8 };
  LLVMTypeRef v8f32 = emit_vec(e->f32, 8), v16f32 = emit_vec(e->f32, 16);
  bool paired = e->isa == EMIT_ISA_AVX512 && n_rows % 2 == 0;
  LLVMValueRef n_blocks = LLVMBuildSDiv(e->b, k_elems, emit_i64(e, 32), "");
  LLVMValueRef n_groups = LLVMBuildSDiv(e->b, n_blocks, emit_i64(e, 8), "");
  LLVMValueRef acc[MAX], pairs[MAX / 2];
  for (int j = 0; j < n_rows; j++)
    acc[j] = emit_var(e, v8f32, LLVMConstNull(v8f32));
  for (int p = 0; paired && p < n_rows / 2; p++)
    pairs[p] = emit_var(e, v16f32, LLVMConstNull(v16f32));
  emit_loop l;
  LLVMValueRef g = emit_for(e, &l, emit_i64(e, 0), n_groups, 1);
  group_32(e, k, o, n_rows, paired, g, paired ? pairs : acc);
  emit_end(e, &l);
  for (int p = 0; paired && p < n_rows / 2; p++) { /* the pairs' halves back to their rows */
    LLVMValueRef both = emit_get(e, v16f32, pairs[p]);
    for (int h = 0; h < 2; h++) {
      int half[8];
      for (int l8 = 0; l8 < 8; l8++)
        half[l8] = 8 * h + l8;
      emit_set(e, acc[2 * p + h],
               LLVMBuildShuffleVector(e->b, both, both, emit_i32_vector(e, half, 8), ""));
    }
  }
  LLVMValueRef i = emit_for(e, &l, emit_mul64(e, n_groups, 8), n_blocks, 1);
  for (int j = 0; j < n_rows; j++) {
    accumulators a = {.lanes = emit_get(e, v8f32, acc[j])};
    block_32(e, k, &o[j], i, false, &a);
    emit_set(e, acc[j], a.lanes);
  }
  emit_end(e, &l);
  for (int j = 0; j < n_rows; j++)
    results[j] = emit_hsum(e, emit_get(e, v8f32, acc[j]), 8);
}

/* A super-block's integer lanes, summed over its chunks: two <8 x i32> (even and odd chunks)
 * or, on AVX-512, one <16 x i32> whose halves are a pair of chunks. Added up at the end (lanes_of_
 * chunks), every lane holds the same exact integer either way. */
typedef struct chunk_lanes {
  LLVMValueRef even, odd, wide;
} chunk_lanes;

/* Chunks c (levels0, pair scales scales0) and c + 1 against the activation's 64 levels at index:
 * scaled_dot4 of each, or on AVX-512 one 64-byte vpmaddubsw and one vpdpwssd for both. */
static void scaled_dot4_pair(emitter *e, LLVMValueRef levels0, LLVMValueRef levels1,
                             LLVMValueRef scales0, LLVMValueRef scales1, const operands *o,
                             LLVMValueRef index, chunk_lanes *acc) {
  if (e->isa != EMIT_ISA_AVX512) {
    acc->even = scaled_dot4(e, levels0, scales0, o, index, acc->even);
    acc->odd = scaled_dot4(e, levels1, scales1, o, emit_add64(e, index, 32), acc->odd);
    return;
  }
  LLVMTypeRef v32i8 = emit_vec(e->i8, 32), v16i32 = emit_vec(e->i32, 16);
  LLVMValueRef w = concat(e, LLVMBuildTrunc(e->b, levels0, v32i8, ""),
                          LLVMBuildTrunc(e->b, levels1, v32i8, ""), 32);
  LLVMValueRef pair_args[2] = {
      w, emit_load(e, emit_vec(e->i8, 64), emit_gep(e, e->i8, o->a_q, index))};
  LLVMValueRef pairs = emit_intrinsic(e, "llvm.x86.avx512.pmaddubs.w.512", NULL, pair_args, 2);
  LLVMValueRef args[3] = {acc->wide ? acc->wide : LLVMConstNull(v16i32),
                          LLVMBuildBitCast(e->b, pairs, v16i32, ""),
                          LLVMBuildBitCast(e->b, concat(e, scales0, scales1, 16), v16i32, "")};
  acc->wide = emit_intrinsic(e, "llvm.x86.avx512.vpdpwssd.512", NULL, args, 3);
}

static LLVMValueRef lanes_of_chunks(emitter *e, const chunk_lanes *acc) {
  if (!acc->wide)
    return LLVMBuildAdd(e->b, acc->even, acc->odd, "");
  int lo[8], hi[8];
  for (int l = 0; l < 8; l++)
    lo[l] = l, hi[l] = l + 8;
  LLVMValueRef undef = LLVMGetUndef(LLVMTypeOf(acc->wide));
  return LLVMBuildAdd(
      e->b, LLVMBuildShuffleVector(e->b, acc->wide, undef, emit_i32_vector(e, lo, 8), ""),
      LLVMBuildShuffleVector(e->b, acc->wide, undef, emit_i32_vector(e, hi, 8), ""), "");
}

/* An i16 vector of constants. */
static LLVMValueRef i16_vector(emitter *e, const int *values, unsigned n) {
  LLVMValueRef c[16];
  for (unsigned l = 0; l < n; l++)
    c[l] = LLVMConstInt(e->i16, (uint64_t)values[l], 0);
  return LLVMConstVector(c, n);
}

/* The K-quant super-block's integer lanes (levels times sub-block scales, summed per lane over
 * its eight chunks), then the float steps of the per-row or the tiled order. min_products (q4_K)
 * holds lane m = min[2m] * s32[2m] + min[2m + 1] * s32[2m + 1], the activation's sums of 32
 * times the weight's mins, exact. */
static void finish_super_block(emitter *e, const qdot_kind *k, const operands *o, LLVMValueRef i,
                               LLVMValueRef lanes, LLVMValueRef d_w, LLVMValueRef dmin_w,
                               LLVMValueRef min_products, bool tiled, accumulators *acc) {
  if (tiled && acc->defer) {
    acc->ints = lanes, acc->min_products = min_products, acc->d_w = d_w, acc->dmin_w = dmin_w;
    return;
  }
  LLVMValueRef d_a = emit_load(e, e->f32, emit_gep(e, e->f32, o->a_d, i));
  if (!tiled) {
    LLVMValueRef d = LLVMBuildFMul(e->b, d_a, d_w, "");
    acc->lanes = emit_fma(e, emit_splat(e, d, e->f32, 8),
                          LLVMBuildSIToFP(e->b, lanes, emit_vec(e->f32, 8), ""), acc->lanes);
    if (k->mins) { /* lane m: sub-blocks 2m and 2m+1, min times the activation's sum of 32 */
      LLVMValueRef dmin = LLVMBuildFNeg(e->b, LLVMBuildFMul(e->b, d_a, dmin_w, ""), "");
      acc->mins = emit_fma(e, emit_splat(e, dmin, e->f32, 4),
                           LLVMBuildSIToFP(e->b, min_products, emit_vec(e->f32, 4), ""), acc->mins);
    }
    return;
  }
  /* tiled: res = d_w * s1 (- dmin_w * s2 fused), acc = fma(d_a, res, acc) */
  LLVMValueRef s1 = emit_intrinsic(e, "llvm.vector.reduce.add", emit_vec(e->i32, 8), &lanes, 1);
  LLVMValueRef res = LLVMBuildFMul(e->b, d_w, LLVMBuildSIToFP(e->b, s1, e->f32, ""), "");
  if (k->mins) {
    LLVMValueRef s2 =
        emit_intrinsic(e, "llvm.vector.reduce.add", emit_vec(e->i32, 4), &min_products, 1);
    res = emit_fma(e, LLVMBuildFNeg(e->b, dmin_w, ""), LLVMBuildSIToFP(e->b, s2, e->f32, ""), res);
  }
  acc->sum = emit_fma(e, d_a, res, acc->sum);
}

/* q4_K (144 bytes: d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles). The
 * scales and mins are unpacked as two <8 x i16> by vector operations (bytes b = 4..15 of the
 * block; j < 4: scale b[j] & 63, min b[j + 4] & 63; j >= 4: scale b[j + 4] & 15 | (b[j - 4] >> 6)
 * << 4, min b[j + 4] >> 4 | (b[j] >> 6) << 4), as ggml's kernel unpacks them with masks. */
static void block_q4_k(emitter *e, const qdot_kind *k, const operands *o, LLVMValueRef i,
                       bool tiled, accumulators *acc) {
  LLVMValueRef wblk = emit_gep(e, e->i8, o->w, emit_mul64(e, i, k->block_bytes));
  LLVMTypeRef v8i16 = emit_vec(e->i16, 8);
  LLVMValueRef bytes = emit_load(e, emit_vec(e->i8, 12), emit_byte_ptr(e, wblk, 4));
  LLVMValueRef undef = LLVMGetUndef(emit_vec(e->i8, 12));
  /* low: the bytes holding each value's low bits; high: those holding its top two (j >= 4) */
  static const int scale_low[8] = {0, 1, 2, 3, 8, 9, 10, 11},
                   scale_high[8] = {0, 1, 2, 3, 0, 1, 2, 3};
  static const int min_low[8] = {4, 5, 6, 7, 8, 9, 10, 11}, min_high[8] = {4, 5, 6, 7, 4, 5, 6, 7};
  static const int low_mask[8] = {63, 63, 63, 63, 15, 15, 15, 15};
  static const int high_mask[8] = {0, 0, 0, 0, 48, 48, 48, 48};
  static const int min_shift[8] = {0, 0, 0, 0, 4, 4, 4, 4};
  LLVMValueRef pick[4];
  const int *sel[4] = {scale_low, scale_high, min_low, min_high};
  for (int p = 0; p < 4; p++)
    pick[p] = LLVMBuildZExt(
        e->b, LLVMBuildShuffleVector(e->b, bytes, undef, emit_i32_vector(e, sel[p], 8), ""), v8i16,
        "");
  LLVMValueRef six = i16_vector(e, (const int[8]){6, 6, 6, 6, 6, 6, 6, 6}, 8);
  LLVMValueRef four = i16_vector(e, (const int[8]){4, 4, 4, 4, 4, 4, 4, 4}, 8);
  LLVMValueRef high_s =
      LLVMBuildAnd(e->b, LLVMBuildShl(e->b, LLVMBuildLShr(e->b, pick[1], six, ""), four, ""),
                   i16_vector(e, high_mask, 8), "");
  LLVMValueRef high_m =
      LLVMBuildAnd(e->b, LLVMBuildShl(e->b, LLVMBuildLShr(e->b, pick[3], six, ""), four, ""),
                   i16_vector(e, high_mask, 8), "");
  LLVMValueRef scales =
      LLVMBuildOr(e->b, LLVMBuildAnd(e->b, pick[0], i16_vector(e, low_mask, 8), ""), high_s, "");
  LLVMValueRef mins =
      LLVMBuildOr(e->b,
                  LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, pick[2], i16_vector(e, min_shift, 8), ""),
                               i16_vector(e, low_mask, 8), ""),
                  high_m, "");
  chunk_lanes chunks = {0};
  for (int c = 0; c < 8; c += 2) { /* chunks c and c + 1: the low and high nibbles of 32 bytes */
    LLVMValueRef q =
        LLVMBuildZExt(e->b, emit_load(e, emit_vec(e->i8, 32), emit_byte_ptr(e, wblk, 16 + 16 * c)),
                      emit_vec(e->i32, 32), "");
    scaled_dot4_pair(e, LLVMBuildAnd(e->b, q, emit_splat_i32(e, 15, 32), ""),
                     LLVMBuildLShr(e->b, q, emit_splat_i32(e, 4, 32), ""),
                     two_halves(e, scales, c, c), two_halves(e, scales, c + 1, c + 1), o,
                     emit_add64(e, emit_mul64(e, i, 256), 32 * c), &chunks);
  }
  LLVMValueRef lanes = lanes_of_chunks(e, &chunks);
  LLVMValueRef min_products = pair_dot(e, mins, act_sums(e, o->a_s32, 8, i, 8), 8);
  finish_super_block(e, k, o, i, lanes, load_f16(e, wblk), load_f16(e, emit_byte_ptr(e, wblk, 2)),
                     min_products, tiled, acc);
}

/* q6_K's chunk c (32 elements): low nibbles | high bit pairs << 4, unsigned. */
static LLVMValueRef levels_q6_k(emitter *e, LLVMValueRef wblk, int c) {
  int half = c / 4, t = c % 4;
  LLVMValueRef low = LLVMBuildZExt(
      e->b, emit_load(e, emit_vec(e->i8, 32), emit_byte_ptr(e, wblk, 64 * half + (t & 1) * 32)),
      emit_vec(e->i32, 32), "");
  low = t < 2 ? LLVMBuildAnd(e->b, low, emit_splat_i32(e, 15, 32), "")
              : LLVMBuildLShr(e->b, low, emit_splat_i32(e, 4, 32), "");
  LLVMValueRef high = LLVMBuildZExt(
      e->b, emit_load(e, emit_vec(e->i8, 32), emit_byte_ptr(e, wblk, 128 + 32 * half)),
      emit_vec(e->i32, 32), "");
  high =
      LLVMBuildShl(e->b,
                   LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, high, emit_splat_i32(e, 2 * t, 32), ""),
                                emit_splat_i32(e, 3, 32), ""),
                   emit_splat_i32(e, 4, 32), "");
  return LLVMBuildOr(e->b, low, high, "");
}

/* q6_K (210 bytes: 128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales, d). Levels
 * unsigned; the -32 comes off each lane through the activation's sums of 16, as ggml's kernel
 * takes it: lane l loses 32 * (sc[2l] * s16[2l] + sc[2l + 1] * s16[2l + 1]). */
static void block_q6_k(emitter *e, const qdot_kind *k, const operands *o, LLVMValueRef i,
                       bool tiled, accumulators *acc) {
  LLVMValueRef wblk = emit_gep(e, e->i8, o->w, emit_mul64(e, i, k->block_bytes));
  LLVMValueRef sc =
      LLVMBuildSExt(e->b, emit_load(e, emit_vec(e->i8, 16), emit_byte_ptr(e, wblk, 192)),
                    emit_vec(e->i16, 16), "");
  chunk_lanes chunks = {0};
  for (int c = 0; c < 8; c += 2) {
    /* lanes 0..3 (pairs 0..7) of chunk c take sub-block 2c, lanes 4..7 sub-block 2c + 1 */
    scaled_dot4_pair(e, levels_q6_k(e, wblk, c), levels_q6_k(e, wblk, c + 1),
                     two_halves(e, sc, 2 * c, 2 * c + 1), two_halves(e, sc, 2 * c + 2, 2 * c + 3),
                     o, emit_add64(e, emit_mul64(e, i, 256), 32 * c), &chunks);
  }
  LLVMValueRef lanes = lanes_of_chunks(e, &chunks);
  LLVMValueRef bias = pair_dot(e, sc, act_sums(e, o->a_s16, 16, i, 16), 16);
  lanes = LLVMBuildSub(e->b, lanes, LLVMBuildShl(e->b, bias, emit_splat_i32(e, 5, 8), ""), "");
  finish_super_block(e, k, o, i, lanes, load_f16(e, emit_byte_ptr(e, wblk, 208)), NULL, NULL, tiled,
                     acc);
}

static const qdot_kind KINDS[] = {
    {IR_DTYPE_Q4_0, 32, 18, false, block_32, levels_q4_0},
    {IR_DTYPE_Q5_0, 32, 22, false, block_32, levels_q5_0},
    {IR_DTYPE_Q8_0, 32, 34, false, block_32, levels_q8_0},
    {IR_DTYPE_Q4_K, 256, 144, true, block_q4_k, NULL},
    {IR_DTYPE_Q6_K, 256, 210, false, block_q6_k, NULL},
};

static const qdot_kind *kind_get(ir_dtype type) {
  for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
    if (KINDS[i].type == type)
      return &KINDS[i];
  return NULL;
}

bool emit_qdot_supports(ir_dtype weight) { return kind_get(weight) != NULL; }

bool emit_qdot_has_tiled(ir_dtype weight) {
  const qdot_kind *k = kind_get(weight);
  return k && k->block_elems == 256;
}

void emit_qdot_name(ir_dtype weight, const char *what, char *buf, size_t size) {
  snprintf(buf, size, "chord_%s_%s", what, ir_dtype_name(weight));
}

/* The element sums of n <w x i32> (n 4 or 8, w 4 or 8) as one <n x i32>: neighbours summed
 * pairwise, two vectors into one, until one is left (joined instead once each vector holds whole
 * sums), then within it. Integers: exact in any order. */
static LLVMValueRef sum_each(emitter *e, LLVMValueRef *x, unsigned n, unsigned w) {
  int even[16], odd[16], all[16];
  for (unsigned l = 0; l < 16; l++)
    even[l] = (int)(2 * l), odd[l] = (int)(2 * l + 1), all[l] = (int)l;
  LLVMValueRef v[8];
  for (unsigned j = 0; j < n; j++)
    v[j] = x[j];
  unsigned per_row = w; /* elements of one row's sum in each vector */
  for (; n > 1; n /= 2)
    for (unsigned p = 0; p < n / 2; p++) {
      LLVMValueRef a = v[2 * p], b = v[2 * p + 1];
      if (per_row == 1) { /* whole sums: join the two */
        v[p] = LLVMBuildShuffleVector(e->b, a, b, emit_i32_vector(e, all, 2 * w), "");
      } else {
        v[p] =
            LLVMBuildAdd(e->b, LLVMBuildShuffleVector(e->b, a, b, emit_i32_vector(e, even, w), ""),
                         LLVMBuildShuffleVector(e->b, a, b, emit_i32_vector(e, odd, w), ""), "");
      }
      if (p == n / 2 - 1) {
        if (per_row == 1)
          w *= 2;
        else
          per_row /= 2;
      }
    }
  for (; per_row > 1; per_row /= 2, w /= 2)
    v[0] = LLVMBuildAdd(
        e->b, LLVMBuildShuffleVector(e->b, v[0], v[0], emit_i32_vector(e, even, w / 2), ""),
        LLVMBuildShuffleVector(e->b, v[0], v[0], emit_i32_vector(e, odd, w / 2), ""), "");
  return v[0];
}

/* The tiled order's float steps for n activation rows against one weight row, lane j for row j:
 * res = d_w * s1 (- dmin_w * s2 fused), sum = fma(d_a, res, sum), each lane exactly the scalar
 * steps of finish_super_block. */
static LLVMValueRef finish_rows(emitter *e, const qdot_kind *k, const operands *o, LLVMValueRef i,
                                const accumulators *acc, unsigned n, LLVMValueRef sum) {
  LLVMTypeRef vf = emit_vec(e->f32, n);
  LLVMValueRef ints[8], mins[8], d_a = LLVMGetUndef(vf);
  for (unsigned j = 0; j < n; j++) {
    ints[j] = acc[j].ints, mins[j] = acc[j].min_products;
    d_a = LLVMBuildInsertElement(e->b, d_a, emit_load(e, e->f32, emit_gep(e, e->f32, o[j].a_d, i)),
                                 emit_i32(e, j), "");
  }
  LLVMValueRef s1 = LLVMBuildSIToFP(e->b, sum_each(e, ints, n, 8), vf, "");
  LLVMValueRef res = LLVMBuildFMul(e->b, emit_splat(e, acc[0].d_w, e->f32, n), s1, "");
  if (k->mins) {
    LLVMValueRef s2 = LLVMBuildSIToFP(e->b, sum_each(e, mins, n, 4), vf, "");
    res = emit_fma(e, emit_splat(e, LLVMBuildFNeg(e->b, acc[0].dmin_w, ""), e->f32, n), s2, res);
  }
  return emit_fma(e, d_a, res, sum);
}

/* The block loop of n_rows activation rows (o[j]) against one weight row, from the current block
 * of fn (which it ends): per row the accumulators and float steps of qdot (or of the tiled order),
 * results[j] its sum, with the builder after the loop. Each row's block reads the same weight
 * bytes, so LLVM computes the weight's levels and scales once for all of them (GVN). */
static void dot_rows(emitter *e, const qdot_kind *k, bool tiled, LLVMValueRef fn, const operands *o,
                     int n_rows, LLVMValueRef k_elems, LLVMValueRef *results) {
  enum { MAX_ROWS = 8 };
  if (k->block_elems == 32 && n_rows > 1) { /* one row (decode) keeps the plain loop */
    dot_rows_32(e, k, o, n_rows, k_elems, results);
    return;
  }
  LLVMBasicBlockRef entry = LLVMGetInsertBlock(e->b);
  LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(e->ctx, fn, "block");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, fn, "done");
  LLVMValueRef n_blocks =
      LLVMBuildSDiv(e->b, k_elems, LLVMConstInt(e->i64, (uint64_t)k->block_elems, 0), "");
  LLVMValueRef zero64 = LLVMConstInt(e->i64, 0, 0);
  LLVMValueRef zeros[3] = {LLVMConstNull(emit_vec(e->f32, 8)), LLVMConstNull(emit_vec(e->f32, 4)),
                           LLVMConstNull(e->f32)};
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, n_blocks, zero64, ""), loop, done);

  LLVMPositionBuilderAtEnd(e->b, loop);
  LLVMValueRef i = LLVMBuildPhi(e->b, e->i64, "i");
  accumulators phi[MAX_ROWS], next[MAX_ROWS];
  for (int j = 0; j < n_rows; j++) {
    phi[j] = (accumulators){.lanes = LLVMBuildPhi(e->b, emit_vec(e->f32, 8), "lanes"),
                            .mins = LLVMBuildPhi(e->b, emit_vec(e->f32, 4), "mins"),
                            .sum = LLVMBuildPhi(e->b, e->f32, "sum")};
    next[j] = phi[j];
  }
  /* four or eight tiled rows against one weight row: their float steps as one vector */
  bool joint = tiled && n_rows >= 4;
  LLVMTypeRef v4f32 = emit_vec(e->f32, (unsigned)n_rows);
  LLVMValueRef sum4 = joint ? LLVMBuildPhi(e->b, v4f32, "sum4") : NULL, next4 = NULL;
  for (int j = 0; j < n_rows; j++) {
    next[j].defer = joint;
    k->block(e, k, &o[j], i, tiled, &next[j]);
  }
  if (joint)
    next4 = finish_rows(e, k, o, i, next, (unsigned)n_rows, sum4);
  LLVMValueRef next_i = emit_add64(e, i, 1);
  LLVMBasicBlockRef loop_end = LLVMGetInsertBlock(e->b);
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, next_i, n_blocks, ""), loop, done);
  LLVMAddIncoming(i, (LLVMValueRef[]){zero64, next_i}, (LLVMBasicBlockRef[]){entry, loop_end}, 2);
  LLVMPositionBuilderAtEnd(e->b, done);
  LLVMValueRef final4 = NULL; /* every phi first: they lead the block */
  if (joint) {
    LLVMAddIncoming(sum4, (LLVMValueRef[]){LLVMConstNull(v4f32), next4},
                    (LLVMBasicBlockRef[]){entry, loop_end}, 2);
    final4 = LLVMBuildPhi(e->b, v4f32, "");
    LLVMAddIncoming(final4, (LLVMValueRef[]){LLVMConstNull(v4f32), next4},
                    (LLVMBasicBlockRef[]){entry, loop_end}, 2);
  }
  LLVMValueRef finals[MAX_ROWS][3];
  for (int j = 0; j < n_rows; j++) {
    LLVMValueRef *slots[3] = {&phi[j].lanes, &phi[j].mins, &phi[j].sum};
    LLVMValueRef nexts[3] = {next[j].lanes, next[j].mins, next[j].sum};
    for (int s = 0; s < 3; s++) {
      LLVMAddIncoming(*slots[s], (LLVMValueRef[]){zeros[s], nexts[s]},
                      (LLVMBasicBlockRef[]){entry, loop_end}, 2);
      finals[j][s] = LLVMBuildPhi(e->b, LLVMTypeOf(zeros[s]), "");
      LLVMAddIncoming(finals[j][s], (LLVMValueRef[]){zeros[s], nexts[s]},
                      (LLVMBasicBlockRef[]){entry, loop_end}, 2);
    }
  }
  for (int j = 0; j < n_rows; j++) {
    if (joint) {
      results[j] = LLVMBuildExtractElement(e->b, final4, emit_i32(e, j), "");
    } else if (tiled) {
      results[j] = finals[j][2];
    } else {
      results[j] = emit_hsum(e, finals[j][0], 8);
      if (k->mins)
        results[j] = LLVMBuildFAdd(e->b, results[j], emit_hsum(e, finals[j][1], 4), "");
    }
  }
}

/* float chord_qdot_T(w, a_q, a_d, a_s16, a_s32, k): one weight row against one activation row. */
static LLVMValueRef emit_dot(emitter *e, const qdot_kind *k, bool tiled, const char *name) {
  LLVMTypeRef params[6] = {e->ptr, e->ptr, e->ptr, e->ptr, e->ptr, e->i64};
  LLVMValueRef fn = emit_begin(e, name, e->f32, params, 6);
  operands o = {LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), LLVMGetParam(fn, 3),
                LLVMGetParam(fn, 4)};
  LLVMValueRef result;
  dot_rows(e, k, tiled, fn, &o, 1, LLVMGetParam(fn, 5), &result);
  LLVMBuildRet(e->b, result);
  return fn;
}

/* void chord_gemm<n>_T(w, row_bytes, rows, a_q[n], a_d[n], a_s16[n], a_s32[n], k, y, y_stride):
 * y[j * y_stride + r] = chord_qdot_T(w + r * row_bytes, activation row j) for every weight row r
 * and the n activation rows j, each weight block decoded once for the n. */
static void emit_gemm(emitter *e, const qdot_kind *k, bool tiled, const char *name, int n) {
  enum { MAX = 8 };
  LLVMTypeRef params[10] = {e->ptr, e->i64, e->i64, e->ptr, e->ptr,
                            e->ptr, e->ptr, e->i64, e->ptr, e->i64};
  LLVMValueRef fn = emit_begin(e, name, e->void_type, params, 10);
  LLVMValueRef w = LLVMGetParam(fn, 0), row_bytes = LLVMGetParam(fn, 1), rows = LLVMGetParam(fn, 2);
  LLVMValueRef y = LLVMGetParam(fn, 8), y_stride = LLVMGetParam(fn, 9);
  operands o[MAX];
  for (int j = 0; j < n; j++)
    for (int p = 0; p < 4; p++) {
      LLVMValueRef at = emit_load_at(e, e->ptr, LLVMGetParam(fn, 3 + p), emit_i64(e, j));
      LLVMValueRef *slot[4] = {&o[j].a_q, &o[j].a_d, &o[j].a_s16, &o[j].a_s32};
      *slot[p] = at;
    }
  emit_loop l;
  LLVMValueRef r = emit_for(e, &l, emit_i64(e, 0), rows, 1);
  LLVMValueRef row = emit_gep(e, e->i8, w, LLVMBuildMul(e->b, r, row_bytes, ""));
  for (int j = 0; j < n; j++)
    o[j].w = row;
  LLVMValueRef results[MAX];
  dot_rows(e, k, tiled, fn, o, n, LLVMGetParam(fn, 7), results);
  for (int j = 0; j < n; j++)
    emit_store_at(e, results[j], y,
                  LLVMBuildAdd(e->b, LLVMBuildMul(e->b, emit_i64(e, j), y_stride, ""), r, ""));
  emit_end(e, &l);
  LLVMBuildRetVoid(e->b);
}

/* void chord_gemv_T(w, row_bytes, rows, a_q, a_d, a_s16, a_s32, k, y): y[r] for every weight row.
 */
static void emit_gemv(emitter *e, LLVMValueRef dot, const char *name) {
  LLVMTypeRef params[9] = {e->ptr, e->i64, e->i64, e->ptr, e->ptr, e->ptr, e->ptr, e->i64, e->ptr};
  LLVMValueRef fn = LLVMAddFunction(e->module, name,
                                    LLVMFunctionType(LLVMVoidTypeInContext(e->ctx), params, 9, 0));
  LLVMValueRef w = LLVMGetParam(fn, 0), row_bytes = LLVMGetParam(fn, 1), rows = LLVMGetParam(fn, 2);
  LLVMValueRef y = LLVMGetParam(fn, 8);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, fn, "entry");
  LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(e->ctx, fn, "row");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, fn, "done");
  LLVMValueRef zero64 = LLVMConstInt(e->i64, 0, 0);
  LLVMPositionBuilderAtEnd(e->b, entry);
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, rows, zero64, ""), loop, done);
  LLVMPositionBuilderAtEnd(e->b, loop);
  LLVMValueRef r = LLVMBuildPhi(e->b, e->i64, "r");
  LLVMValueRef args[6] = {emit_gep(e, e->i8, w, LLVMBuildMul(e->b, r, row_bytes, "")),
                          LLVMGetParam(fn, 3),
                          LLVMGetParam(fn, 4),
                          LLVMGetParam(fn, 5),
                          LLVMGetParam(fn, 6),
                          LLVMGetParam(fn, 7)};
  LLVMValueRef v = LLVMBuildCall2(e->b, LLVMGlobalGetValueType(dot), dot, args, 6, "");
  LLVMBuildStore(e->b, v, emit_gep(e, e->f32, y, r));
  LLVMValueRef next = emit_add64(e, r, 1);
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, next, rows, ""), loop, done);
  LLVMAddIncoming(r, (LLVMValueRef[]){zero64, next}, (LLVMBasicBlockRef[]){entry, loop}, 2);
  LLVMPositionBuilderAtEnd(e->b, done);
  LLVMBuildRetVoid(e->b);
}

bool emit_qdot(LLVMModuleRef module, ir_dtype weight, emit_isa isa) {
  const qdot_kind *k = kind_get(weight);
  if (!k)
    return false;
  emitter e;
  emitter_init(&e, module, isa);
  for (int tiled = 0; tiled <= (k->block_elems == 256); tiled++) {
    char dot[64], gemv[64];
    emit_qdot_name(weight, tiled ? "qdot_tiled" : "qdot", dot, sizeof dot);
    emit_qdot_name(weight, tiled ? "gemv_tiled" : "gemv", gemv, sizeof gemv);
    emit_gemv(&e, emit_dot(&e, k, tiled, dot), gemv);
    char gemm[64];
    emit_qdot_name(weight, tiled ? "gemm4_tiled" : "gemm4", gemm, sizeof gemm);
    emit_gemm(&e, k, tiled, gemm, 4);
    if (tiled) {
      emit_qdot_name(weight, "gemm8_tiled", gemm, sizeof gemm);
      emit_gemm(&e, k, tiled, gemm, 8);
    }
  }
  emitter_dispose(&e);
  return true;
}
