/* Insertion sort: a few dozen samples, and no library to call. */
#include "median.h"

uint32_t median_sort(uint32_t *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint32_t x = v[i], j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return v[n / 2];
}

uint32_t median_of(uint32_t (*sample)(void))
{
	uint32_t v[MEDIAN_SAMPLES];

	for (int i = 0; i < MEDIAN_WARMUP; i++)
		sample();
	for (int i = 0; i < MEDIAN_SAMPLES; i++)
		v[i] = sample();
	return median_sort(v, MEDIAN_SAMPLES);
}
