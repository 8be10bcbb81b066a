/* Two lanes of doubles (SSE2 on x86-64, NEON on ARM) for the hot loops of
 * the likelihood and the block linear algebra: each lane does the scalar
 * arithmetic, so results are bit for bit the scalar ones.  v2du: the same
 * for unaligned memory, of any type. */
#ifndef HFS_LANES_H
#define HFS_LANES_H

typedef double v2d __attribute__((vector_size(16)));
typedef double v2du __attribute__((vector_size(16), aligned(8), may_alias));

#endif
