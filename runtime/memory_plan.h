/* The memory plan of a step: one arena for the buffers of a graph's values, each at an offset
 * chosen so that buffers alive at the same time never overlap, and buffers whose lives do not
 * overlap share memory. A value is alive from the step that computes it to the step of its last
 * use (inclusive), as the interpreter's walker keeps them. */
#ifndef CHORD_RUNTIME_MEMORY_PLAN_H
#define CHORD_RUNTIME_MEMORY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Buffer i of n has bytes[i] bytes (0: none) and lives from step i to step last_use[i]
 * (last_use[i] >= i; UINT32_MAX: to the end). Writes offsets[i] (multiples of align, a power of
 * two) and the arena's size to *total. First fit over the free blocks in address order, freed
 * blocks merged with their neighbours. False only without memory for the bookkeeping. */
bool memory_plan(uint32_t n, const size_t *bytes, const uint32_t *last_use, size_t align,
                 size_t *offsets, size_t *total);

#endif
