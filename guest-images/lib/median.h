/* Medians of timing samples, the figure the bench guests report (robust to a stray interrupt). */
#ifndef GUEST_MEDIAN_H
#define GUEST_MEDIAN_H

#include <stdint.h>

#define MEDIAN_WARMUP 8
#define MEDIAN_SAMPLES 64

/* Sorts v[0..n) in place and returns its middle value v[n / 2]; n > 0. */
uint32_t median_sort(uint32_t *v, uint32_t n);
/* The median of MEDIAN_SAMPLES calls of sample, after MEDIAN_WARMUP calls whose results are dropped. */
uint32_t median_of(uint32_t (*sample)(void));

#endif
