/* The rewriter's contract: patterns reach a fixed point, a pattern that would loop forever is
 * stopped at the bound and named, matching changes nothing, and every pass leaves a graph the
 * verifier accepts. */
#include <string.h>

#include "../ir/ir_test.h"
#include "passes/pass.h"
#include "passes/rewriter.h"
#include "runtime/support/alloc.h"

/* x f32[T, 64] -> scale 2 -> scale 3 -> output */
typedef struct fixture {
  ir_graph *g;
  ir_value *x, *a, *b;
  chord_error error;
} fixture;

static fixture setup(void) {
  fixture f = {.g = new_graph()};
  f.x = input(f.g, "x", type_of(IR_DTYPE_F32, 2, DIM_T, K(64), K(0)));
  f.a = ir_build_scale(f.g, f.x, 2.0, &f.error);
  f.b = ir_build_scale(f.g, f.a, 3.0, &f.error);
  cr_assert_not_null(f.b);
  cr_assert_eq(ir_graph_add_output(f.g, f.b, &f.error), CHORD_OK);
  return f;
}

/* Negates the scale every time: never reaches a fixed point. */
static bool match_any(const ir_graph *g, const ir_value *root) { return true; }

static chord_status rewrite_negate(pass_rewriter *rw, ir_value *root) {
  ir_value *x = root->operands[0];
  ir_attr scale = ir_attr_float(IR_ATTR_SCALE, -ir_value_attr(root, IR_ATTR_SCALE)->as.f);
  ir_value *fresh = pass_rewriter_build(rw, IR_OP_SCALE, &x, 1, &scale, 1);
  if (!fresh)
    return rw->error->status;
  pass_rewriter_replace(rw, root, fresh);
  return CHORD_OK;
}

Test(pass_rewriter, looping_pattern_is_stopped_and_named) {
  fixture f = setup();
  static const pass_pattern loop[] = {{"negate-forever", IR_OP_SCALE, match_any, rewrite_negate}};
  uint32_t n = 0;
  cr_assert_eq(pass_rewrite_greedy(f.g, loop, 1, 5, &n, &f.error), CHORD_ERROR_INVALID);
  cr_assert_str_eq(f.error.message, "pattern rewriting did not converge in 5 sweeps (still "
                                    "firing: negate-forever)");
  cr_assert_gt(n, 0);
  /* stopped midway, the graph is still well formed */
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_OK, "%s", f.error.message);
  ir_graph_free(f.g);
}

/* Counts its calls and never matches. */
static int n_matches;
static bool match_count(const ir_graph *g, const ir_value *root) {
  n_matches++;
  return false;
}

static chord_status rewrite_never(pass_rewriter *rw, ir_value *root) {
  cr_assert_fail("rewrite called without a match");
  return CHORD_OK;
}

Test(pass_rewriter, no_match_is_one_sweep_and_no_change) {
  fixture f = setup();
  static const pass_pattern none[] = {{"never", IR_OP_SCALE, match_count, rewrite_never}};
  n_matches = 0;
  uint32_t n = 7;
  cr_assert_eq(pass_rewrite_greedy(f.g, none, 1, 1, &n, &f.error), CHORD_OK);
  cr_assert_eq(n, 0);
  cr_assert_eq(n_matches, 2); /* each scale once */
  cr_assert_eq(f.g->n_values, 3);
  cr_assert_eq(f.g->values[2], f.b);
  ir_graph_free(f.g);
}

Test(pass_rewriter, canonicalize_reaches_a_fixed_point) {
  fixture f = setup();
  cr_assert_eq(pass_canonicalize(f.g, &f.error), CHORD_OK, "%s", f.error.message);
  cr_assert_eq(f.g->n_values, 2); /* x, scale 6 */
  ir_value *y = f.g->values[1];
  cr_assert_eq(y->op, IR_OP_SCALE);
  cr_assert_float_eq(ir_value_attr(y, IR_ATTR_SCALE)->as.f, 6.0, 1e-12);
  cr_assert_eq(f.g->outputs[0], y);
  cr_assert_eq(y->n_uses, 1);
  cr_assert_eq(f.x->n_uses, 1);
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_OK, "%s", f.error.message);
  ir_graph_free(f.g);
}

Test(pass_rewriter, replace_moves_uses_and_erases_the_dead) {
  fixture f = setup();
  pass_rewriter rw;
  pass_rewriter_init(&rw, f.g, &f.error);
  rw.root = f.b;
  ir_value *x = f.x;
  ir_value *silu = pass_rewriter_build(&rw, IR_OP_SILU, &x, 1, NULL, 0);
  cr_assert_not_null(silu);
  cr_assert_eq(silu->index, 2, "built just before the root");
  pass_rewriter_replace(&rw, f.b, silu);
  /* b and then a (its only user gone) are erased */
  cr_assert_eq(f.g->n_values, 2);
  cr_assert_eq(f.g->values[1], silu);
  cr_assert_eq(silu->index, 1);
  cr_assert_eq(f.g->outputs[0], silu);
  cr_assert_eq(f.x->n_uses, 1);
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_OK, "%s", f.error.message);
  ir_graph_free(f.g);
}

Test(pass_rewriter, dce_removes_dead_chains_keeps_stateful_ops) {
  fixture f = setup();
  ir_value *dead = ir_build_unary(f.g, IR_OP_SILU, f.x, &f.error);
  cr_assert_not_null(ir_build_unary(f.g, IR_OP_SILU, dead, &f.error));
  ir_type cache_type = type_of(IR_DTYPE_F16, 2, K(128), K(64), K(0));
  ir_value *cache = ir_graph_add_state(f.g, "cache", &cache_type, &f.error);
  ir_value *operands[2] = {cache, f.b};
  ir_value *write = ir_build(f.g, IR_OP_KV_WRITE, operands, 2, NULL, 0, &f.error);
  cr_assert_not_null(write, "%s", f.error.message);
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_ERROR_INVALID); /* the dead silu */
  cr_assert_eq(pass_dce(f.g, &f.error), CHORD_OK);
  cr_assert_eq(f.g->n_values, 5); /* x, a, b, cache, kv_write */
  cr_assert_eq(f.g->values[4], write);
  cr_assert_eq(ir_verify(f.g, &f.error), CHORD_OK, "%s", f.error.message);
  ir_graph_free(f.g);
}

Test(pass_rewriter, infer_shapes_rederives_and_reports) {
  fixture f = setup();
  f.b->type.dims[1] = K(65); /* as a buggy rewrite could leave it */
  cr_assert_eq(pass_infer_shapes(f.g, &f.error), CHORD_OK, "%s", f.error.message);
  cr_assert(ir_dim_equal(f.b->type.dims[1], K(64)));
  ir_value *w = weight(f.g, "w", type_of(IR_DTYPE_F32, 2, K(32), K(64), K(0)));
  ir_value *m = ir_build_matmul(f.g, f.b, w, &f.error);
  cr_assert_not_null(m);
  w->type.dims[1] = K(16);
  cr_assert_eq(pass_infer_shapes(f.g, &f.error), CHORD_ERROR_INVALID);
  cr_assert(strstr(f.error.message, "%4 (matmul): ") == f.error.message, "%s", f.error.message);
  ir_graph_free(f.g);
}

Test(pass_rewriter, pipeline_names_the_failing_pass) {
  fixture f = setup();
  pass_pipeline p;
  cr_assert_eq(pass_pipeline_parse("cse,nope", &p, &f.error), CHORD_ERROR_INVALID);
  cr_assert(strstr(f.error.message, "unknown pass 'nope' (available passes: infer-shapes") ==
            f.error.message);
  cr_assert_eq(pass_pipeline_for_level(3, &p, &f.error), CHORD_ERROR_INVALID);
  cr_assert_eq(pass_pipeline_for_level(1, &p, &f.error), CHORD_OK);
  cr_assert_gt(p.n, 0);
  cr_assert_eq(pass_pipeline_run(f.g, &p, NULL, &f.error), CHORD_OK, "%s", f.error.message);
  cr_assert_eq(f.g->n_values, 2);
  ir_graph_free(f.g);
}

/* SQLite-style: make the n-th allocation fail, for n = 0, 1, ... until -O2 succeeds. Every failure
 * is a clean NO_MEMORY naming the pass, and leaves a graph the verifier still accepts. */
static const char foldable[] = "graph @g {\n"
                               "  input %x : f32[T, 64]\n"
                               "  %a = scale %x {scale = 2} : f32[T, 64]\n"
                               "  %b = scale %a {scale = 3} : f32[T, 64]\n"
                               "  %r = reshape %b {shape = [T, 8, 8]} : f32[T, 8, 8]\n"
                               "  %r2 = reshape %r {shape = [T, 64]} : f32[T, 64]\n"
                               "  %s1 = silu %r2 : f32[T, 64]\n"
                               "  %s2 = silu %r2 : f32[T, 64]\n"
                               "  %y = add %s1, %s2 : f32[T, 64]\n"
                               "  output %y\n"
                               "}\n";

Test(pass_rewriter, allocation_failures_are_clean) {
  pass_pipeline p;
  chord_error error;
  cr_assert_eq(pass_pipeline_for_level(2, &p, &error), CHORD_OK);
  bool failed_once = false;
  for (long n = 0;; n++) {
    ir_graph *g;
    cr_assert_eq(ir_parse(foldable, strlen(foldable), "foldable", &g, &error), CHORD_OK);
    rt_alloc_fail_after(n);
    chord_status status = pass_pipeline_run(g, &p, NULL, &error);
    rt_alloc_fail_after(-1);
    if (status == CHORD_OK) {
      /* the reshapes fold away, CSE merges the silus, fuse-elementwise takes the scale into the
       * silu (the add reads it twice, so it stays) */
      cr_assert_eq(g->n_values, 3, "x, fused_region silu(scale 6), add");
      ir_graph_free(g);
      break;
    }
    failed_once = true;
    cr_assert_eq(status, CHORD_ERROR_NO_MEMORY, "allocation %ld: %s", n, error.message);
    cr_assert(strstr(error.message, "pass") != NULL, "%s", error.message);
    cr_assert_eq(ir_verify(g, &error), CHORD_OK, "allocation %ld: %s", n, error.message);
    ir_graph_free(g);
    cr_assert(n < 1000);
  }
  cr_assert(failed_once);
}
