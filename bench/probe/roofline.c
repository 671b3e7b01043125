/*
 * Roofline probe for `npm run bench`: the dense Adam update as a plain C loop (IEEE arithmetic: no
 * -ffast-math; -fno-math-errno only lets sqrt vectorize), on one thread and, built with -fopenmp,
 * on OMP_NUM_THREADS threads; and STREAM-like copy / triad bandwidth (one thread). Prints one JSON
 * object on stdout.
 *
 *   roofline <count> <size> <steps> <reps> [full_count full_size]
 *
 * The main kernels run over `count` separately allocated arrays of `size` elements. Rates are the
 * median over `reps` repetitions of `steps` steps each (after one warm-up repetition).
 * Bytes per parameter of one fp32 step: g, p, m, v read + p, m, v written = 28 (the caches'
 * write-allocate reads of p, m, v are not counted, as STREAM does not count them).
 */
#define _POSIX_C_SOURCE 200112L
#ifdef _OPENMP
#include <omp.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *xs, int n) {
  qsort(xs, (size_t)n, sizeof(double), cmp_double);
  return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

static void *xalloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
    fprintf(stderr, "roofline: out of memory (%zu bytes)\n", bytes);
    exit(2);
  }
  memset(p, 0, bytes);
  return p;
}

/* The Adam constants of step t (as the optimizer computes them once per step). */
typedef struct { double alpha, eps, c1, c2, decay, mom; } scalars_t;

static scalars_t step_scalars(int t) {
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999;
  scalars_t s;
  s.alpha = lr * sqrt(1.0 - pow(b2, t)) / (1.0 - pow(b1, t));
  s.eps = 1e-7;
  s.c1 = 1.0 - b1;
  s.c2 = 1.0 - b2;
  s.decay = lr * 0.004;
  s.mom = 0.99;
  return s;
}

#define DEFINE_KERNELS(T, SQRT, SUF)                                                                \
  static void adam_##SUF(T *restrict p, const T *restrict g, T *restrict m, T *restrict v,        \
                         size_t n, scalars_t s) {                                                 \
    const T alpha = (T)s.alpha, eps = (T)s.eps, c1 = (T)s.c1, c2 = (T)s.c2;                       \
    for (size_t i = 0; i < n; i++) {                                                              \
      T gi = g[i];                                                                                \
      T mi = m[i] + (gi - m[i]) * c1;                                                             \
      T vi = v[i] + (gi * gi - v[i]) * c2;                                                        \
      m[i] = mi;                                                                                  \
      v[i] = vi;                                                                                  \
      p[i] -= alpha * mi / (SQRT(vi) + eps);                                                      \
    }                                                                                             \
  }
DEFINE_KERNELS(float, sqrtf, f32)
DEFINE_KERNELS(double, sqrt, f64)

static void amsgrad_f32(float *restrict p, const float *restrict g, float *restrict m,
                        float *restrict v, float *restrict h, size_t n, scalars_t s) {
  const float alpha = (float)s.alpha, eps = (float)s.eps, c1 = (float)s.c1, c2 = (float)s.c2;
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    float mi = m[i] + (gi - m[i]) * c1;
    float vi = v[i] + (gi * gi - v[i]) * c2;
    float hi = h[i] > vi ? h[i] : vi;
    m[i] = mi;
    v[i] = vi;
    h[i] = hi;
    p[i] -= alpha * mi / (sqrtf(hi) + eps);
  }
}

/* Full feature set: a sum-of-squares pass over g (global clipnorm), then one fused pass of
 * decay + scaled-gradient Adam + EMA. */
static double sumsq_f32(const float *restrict g, size_t n) {
  /* eight independent float64 accumulators, as a SIMD kernel would keep (no -ffast-math needed) */
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += (double)g[i + k] * (double)g[i + k];
  for (; i < n; i++) acc[0] += (double)g[i] * (double)g[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static void full_f32(float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict v, float *restrict a, size_t n, scalars_t s, float scale) {
  const float alpha = (float)s.alpha, eps = (float)s.eps, c1 = (float)s.c1, c2 = (float)s.c2;
  const float decay = (float)s.decay, mom = (float)s.mom, om = (float)(1.0 - s.mom);
  for (size_t i = 0; i < n; i++) {
    float pi = p[i] - p[i] * decay;
    float gi = g[i] * scale;
    float mi = m[i] + (gi - m[i]) * c1;
    float vi = v[i] + (gi * gi - v[i]) * c2;
    m[i] = mi;
    v[i] = vi;
    pi -= alpha * mi / (sqrtf(vi) + eps);
    p[i] = pi;
    a[i] = mom * a[i] + om * pi;
  }
}

static void copy_f64(double *restrict c, const double *restrict a, size_t n) {
  for (size_t i = 0; i < n; i++) c[i] = a[i];
}

static void triad_f64(double *restrict a, const double *restrict b, const double *restrict c,
                      double q, size_t n) {
  for (size_t i = 0; i < n; i++) a[i] = b[i] + q * c[i];
}

typedef struct {
  size_t count, size;
  void **p, **g, **m, **v, **x;
} arrays_t;

static arrays_t make_arrays(size_t count, size_t size, size_t elem, int extra) {
  arrays_t A;
  A.count = count;
  A.size = size;
  void ***all[5] = {&A.p, &A.g, &A.m, &A.v, &A.x};
  for (int k = 0; k < 5; k++) *all[k] = calloc(count, sizeof(void *));
  for (size_t j = 0; j < count; j++) {
    A.p[j] = xalloc(size * elem);
    A.g[j] = xalloc(size * elem);
    A.m[j] = xalloc(size * elem);
    A.v[j] = xalloc(size * elem);
    A.x[j] = extra ? xalloc(size * elem) : NULL;
    for (size_t i = 0; i < size; i++) {
      double gi = 0.01 * sin((double)(i + j * size));
      if (elem == 4) {
        ((float *)A.p[j])[i] = 0.5f;
        ((float *)A.g[j])[i] = (float)gi;
        if (extra) ((float *)A.x[j])[i] = 0.5f;
      } else {
        ((double *)A.p[j])[i] = 0.5;
        ((double *)A.g[j])[i] = gi;
        if (extra) ((double *)A.x[j])[i] = 0.5;
      }
    }
  }
  return A;
}

static void free_arrays(arrays_t *A) {
  for (size_t j = 0; j < A->count; j++) {
    free(A->p[j]);
    free(A->g[j]);
    free(A->m[j]);
    free(A->v[j]);
    free(A->x[j]);
  }
  free(A->p);
  free(A->g);
  free(A->m);
  free(A->v);
  free(A->x);
}

enum { K_ADAM32, K_ADAM64, K_AMSGRAD32, K_FULL32 };

/* One kernel over elements [from, from + len) of array j. */
static void run_piece(int kind, arrays_t *A, size_t j, size_t from, size_t len, scalars_t s, float scale) {
  if (kind == K_ADAM64) {
    adam_f64((double *)A->p[j] + from, (double *)A->g[j] + from, (double *)A->m[j] + from, (double *)A->v[j] + from, len, s);
    return;
  }
  float *p = (float *)A->p[j] + from, *g = (float *)A->g[j] + from, *m = (float *)A->m[j] + from, *v = (float *)A->v[j] + from;
  switch (kind) {
    case K_ADAM32: adam_f32(p, g, m, v, len, s); break;
    case K_AMSGRAD32: amsgrad_f32(p, g, m, v, (float *)A->x[j] + from, len, s); break;
    default: full_f32(p, g, m, v, (float *)A->x[j] + from, len, s, scale); break;
  }
}

/* Thread `id` of `nt`: its range of all the arrays' elements taken in order, cut at 16-element
   boundaries (as the optimizer cuts its table). A thread runs whole arrays and splits only the ones
   at its range's ends, so 4096 small arrays are shared out between the threads, and one large array
   is cut into one piece per thread. */
static void thread_range(const arrays_t *A, size_t id, size_t nt, size_t *lo, size_t *hi) {
  size_t total = A->count * A->size;
  *lo = id == 0 ? 0 : (total * id / nt) & ~(size_t)15;
  *hi = id + 1 == nt ? total : (total * (id + 1) / nt) & ~(size_t)15;
}

/* Calls run_piece (or, with sumsq, sums the squares of g) over [lo, hi) of the concatenated arrays. */
static double walk_range(int kind, arrays_t *A, size_t lo, size_t hi, scalars_t s, float scale, int sumsq) {
  double total = 0;
  for (size_t j = lo / A->size; j < A->count && j * A->size < hi; j++) {
    size_t base = j * A->size;
    size_t from = lo > base ? lo - base : 0, to = hi < base + A->size ? hi - base : A->size;
    if (to <= from) continue;
    if (sumsq) total += sumsq_f32((float *)A->g[j] + from, to - from);
    else run_piece(kind, A, j, from, to - from, s, scale);
  }
  return total;
}

/* walk_range over the calling OpenMP thread's range (the whole of it outside a parallel region). */
static double walk_this_thread(int kind, arrays_t *A, scalars_t s, float scale, int sumsq) {
  size_t id = 0, nt = 1, lo, hi;
#ifdef _OPENMP
  id = (size_t)omp_get_thread_num();
  nt = (size_t)omp_get_num_threads();
#endif
  thread_range(A, id, nt, &lo, &hi);
  return walk_range(kind, A, lo, hi, s, scale, sumsq);
}

/* One step of `kind` on OMP_NUM_THREADS threads (built with -fopenmp; else on one thread). The full
   feature set first sums the squares of all gradients on every thread (the global norm), then runs
   the fused update. */
static void run_step_threads(int kind, arrays_t *A, scalars_t s) {
  double total = 0;
  if (kind == K_FULL32) {
#pragma omp parallel reduction(+ : total)
    total += walk_this_thread(kind, A, s, 1.0f, 1);
  }
  double norm = sqrt(total), limit = 1.0;
  float scale = kind == K_FULL32 && norm > limit ? (float)(limit / norm) : 1.0f;
#pragma omp parallel
  walk_this_thread(kind, A, s, scale, 0);
}

static void run_step(int kind, arrays_t *A, int t, int threaded) {
  scalars_t s = step_scalars(t);
  if (threaded) {
    run_step_threads(kind, A, s);
    return;
  }
  float scale = 1.0f;
  if (kind == K_FULL32) {
    double total = 0;
    for (size_t j = 0; j < A->count; j++) total += sumsq_f32(A->g[j], A->size);
    double norm = sqrt(total), limit = 1.0;
    scale = norm > limit ? (float)(limit / norm) : 1.0f;
  }
  for (size_t j = 0; j < A->count; j++) run_piece(kind, A, j, 0, A->size, s, scale);
}

/* Median params/s of `kind` over count x size, on one thread or (threaded) on OMP_NUM_THREADS. */
static double time_kind(int kind, size_t count, size_t size, int steps, int reps, int threaded) {
  size_t elem = kind == K_ADAM64 ? 8 : 4;
  int extra = kind == K_AMSGRAD32 || kind == K_FULL32;
  arrays_t A = make_arrays(count, size, elem, extra);
  double *rates = calloc((size_t)reps, sizeof(double));
  int t = 0;
  for (int k = 0; k < steps; k++) run_step(kind, &A, ++t, threaded); /* warm-up */
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    for (int k = 0; k < steps; k++) run_step(kind, &A, ++t, threaded);
    rates[r] = (double)(count * size) * steps / (now() - t0);
  }
  double result = median(rates, reps);
  free(rates);
  free_arrays(&A);
  return result;
}

/* Median bytes/s of copy (16 bytes per element) and triad (24 bytes per element), STREAM-style. */
static void time_stream(size_t n, int reps, double *copy_bw, double *triad_bw) {
  double *a = xalloc(n * 8), *b = xalloc(n * 8), *c = xalloc(n * 8);
  for (size_t i = 0; i < n; i++) { a[i] = 1.0; b[i] = 2.0; c[i] = 0.5; }
  double *cr = calloc((size_t)reps, sizeof(double)), *tr = calloc((size_t)reps, sizeof(double));
  copy_f64(c, a, n);
  triad_f64(a, b, c, 3.0, n);
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    copy_f64(c, a, n);
    double t1 = now();
    triad_f64(a, b, c, 3.0, n);
    double t2 = now();
    cr[r] = 16.0 * (double)n / (t1 - t0);
    tr[r] = 24.0 * (double)n / (t2 - t1);
  }
  *copy_bw = median(cr, reps);
  *triad_bw = median(tr, reps);
  /* keep the results observable */
  volatile double sink = a[n / 2] + c[n / 3];
  (void)sink;
  free(a); free(b); free(c); free(cr); free(tr);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s <count> <size> <steps> <reps> [chunk_count chunk_size]\n", argv[0]);
    return 1;
  }
  size_t count = strtoull(argv[1], NULL, 10), size = strtoull(argv[2], NULL, 10);
  int steps = atoi(argv[3]), reps = atoi(argv[4]);
  size_t ccount = argc > 6 ? strtoull(argv[5], NULL, 10) : 0;
  size_t csize = argc > 6 ? strtoull(argv[6], NULL, 10) : 0;
  if (steps < 1) steps = 1;
  if (reps < 1) reps = 1;
  size_t n = count * size;
  double copy_bw, triad_bw;
  time_stream(n, reps * 2 + 1, &copy_bw, &triad_bw);
  printf("{\"params\":%zu,\"copyBytesPerSec\":%.6e,\"triadBytesPerSec\":%.6e", n, copy_bw, triad_bw);
  printf(",\"adam32\":%.6e", time_kind(K_ADAM32, count, size, steps, reps, 0));
  printf(",\"adam64\":%.6e", time_kind(K_ADAM64, count, size, steps, reps, 0));
  printf(",\"amsgrad32\":%.6e", time_kind(K_AMSGRAD32, count, size, steps, reps, 0));
  printf(",\"full32\":%.6e", time_kind(K_FULL32, count, size, steps, reps, 0));
#ifdef _OPENMP
  printf(",\"threads\":%d", omp_get_max_threads());
  printf(",\"adam32Threads\":%.6e", time_kind(K_ADAM32, count, size, steps, reps, 1));
  printf(",\"adam64Threads\":%.6e", time_kind(K_ADAM64, count, size, steps, reps, 1));
  printf(",\"amsgrad32Threads\":%.6e", time_kind(K_AMSGRAD32, count, size, steps, reps, 1));
  printf(",\"full32Threads\":%.6e", time_kind(K_FULL32, count, size, steps, reps, 1));
#endif
  if (ccount > 0 && csize > 0) {
    printf(",\"chunkCount\":%zu,\"chunkSize\":%zu", ccount, csize);
    printf(",\"adam32Chunks\":%.6e", time_kind(K_ADAM32, ccount, csize, steps, reps, 0));
    printf(",\"full32Chunks\":%.6e", time_kind(K_FULL32, ccount, csize, steps, reps, 0));
#ifdef _OPENMP
    printf(",\"adam32ChunksThreads\":%.6e", time_kind(K_ADAM32, ccount, csize, steps, reps, 1));
    printf(",\"full32ChunksThreads\":%.6e", time_kind(K_FULL32, ccount, csize, steps, reps, 1));
#endif
  }
  printf("}\n");
  return 0;
}
