/* The pattern rewriter and its greedy driver (see rewriter.h for the contract). */
#include "passes/rewriter.h"

#include <inttypes.h>
#include <string.h>

#include "runtime/support/alloc.h"
#include "runtime/support/error.h"

static bool in_graph(const ir_graph *g, const ir_value *v) {
  return v->index < g->n_values && g->values[v->index] == v;
}

void pass_rewriter_init(pass_rewriter *rw, ir_graph *g, chord_error *error) {
  *rw = (pass_rewriter){.g = g, .error = error};
}

ir_value *pass_rewriter_build(pass_rewriter *rw, ir_op op, ir_value *const *operands,
                              uint32_t n_operands, const ir_attr *attrs, uint32_t n_attrs) {
  ir_value *v = ir_build(rw->g, op, operands, n_operands, attrs, n_attrs, rw->error);
  if (v && rw->root)
    ir_graph_move(rw->g, v, rw->root->index);
  if (v)
    rw->n_rewrites++;
  return v;
}

static bool removable(const ir_value *v) {
  return v->kind == IR_VALUE_NODE && !(ir_op_get(v->op)->flags & IR_FLAG_STATEFUL);
}

void pass_rewriter_erase(pass_rewriter *rw, ir_value *v) {
  RT_ASSERT(v->n_uses == 0);
  if (!in_graph(rw->g, v))
    return;
  ir_graph_erase(rw->g, v);
  rw->n_rewrites++;
  for (uint32_t k = 0; k < v->n_operands; k++) {
    ir_value *operand = v->operands[k];
    if (operand->n_uses == 0 && removable(operand))
      pass_rewriter_erase(rw, operand);
  }
}

void pass_rewriter_replace(pass_rewriter *rw, ir_value *old, ir_value *replacement) {
  RT_ASSERT(old != replacement);
  ir_value_replace_uses(rw->g, old, replacement);
  if (!replacement->name && old->name) {
    replacement->name = old->name;
    old->name = NULL;
  }
  rw->n_rewrites++;
  if (old->n_uses == 0 && removable(old))
    pass_rewriter_erase(rw, old);
}

chord_status pass_rewrite_greedy(ir_graph *g, const pass_pattern *patterns, uint32_t n_patterns,
                                 uint32_t max_sweeps, uint32_t *n_rewrites, chord_error *error) {
  pass_rewriter rw;
  pass_rewriter_init(&rw, g, error);
  /* which patterns fired in the last sweep, for the report when the bound is hit */
  bool *fired = rt_calloc(n_patterns ? n_patterns : 1, sizeof *fired);
  if (!fired)
    return rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory in the rewriter");
  chord_status status = CHORD_OK;
  bool changed = true;
  uint32_t sweep = 0;
  while (changed && status == CHORD_OK) {
    if (sweep == max_sweeps)
      break;
    sweep++;
    changed = false;
    memset(fired, 0, sizeof *fired * n_patterns);
    /* a sweep visits the ops present when it starts; rewrites erase, insert and renumber */
    uint32_t n = g->n_values;
    ir_value **snapshot = rt_malloc(sizeof *snapshot * (n ? n : 1));
    if (!snapshot) {
      status = rt_error(error, CHORD_ERROR_NO_MEMORY, "out of memory in the rewriter");
      break;
    }
    memcpy(snapshot, g->values, sizeof *snapshot * n);
    for (uint32_t i = 0; i < n && status == CHORD_OK; i++) {
      ir_value *v = snapshot[i];
      if (v->kind != IR_VALUE_NODE || !in_graph(g, v))
        continue;
      for (uint32_t p = 0; p < n_patterns; p++) {
        if (patterns[p].root != v->op || !patterns[p].match(g, v))
          continue;
        rw.root = v;
        status = patterns[p].rewrite(&rw, v);
        rw.root = NULL;
        if (status != CHORD_OK) {
          char label[160];
          char inner[sizeof error->message];
          snprintf(inner, sizeof inner, "%s", error->message);
          if (v->name)
            snprintf(label, sizeof label, "%%%s", v->name);
          else
            snprintf(label, sizeof label, "%%%" PRIu32, v->index);
          status =
              rt_error(error, status, "pattern '%s' at %s: %s", patterns[p].name, label, inner);
          break;
        }
        fired[p] = true;
        changed = true;
        break; /* v may be gone; the next sweep looks at it again */
      }
    }
    rt_free(snapshot);
  }
  if (status == CHORD_OK && changed) {
    char names[512];
    size_t at = 0;
    names[0] = '\0';
    for (uint32_t p = 0; p < n_patterns; p++) {
      if (fired[p]) {
        int w = snprintf(names + at, sizeof names - at, "%s%s", at ? ", " : "", patterns[p].name);
        if (w > 0)
          at = at + (size_t)w < sizeof names ? at + (size_t)w : sizeof names - 1;
      }
    }
    status = rt_error(error, CHORD_ERROR_INVALID,
                      "pattern rewriting did not converge in %" PRIu32 " sweeps (still firing: %s)",
                      max_sweeps, names);
  }
  rt_free(fired);
  if (n_rewrites)
    *n_rewrites = rw.n_rewrites;
  return status;
}
