/*
 * ISA-L side of bench/isal-compare.sh: MB/s of data bytes (k fragments x size per call) for
 * encode (m parity from k data) and decode-m (m data fragments rebuilt from k survivors) with
 * one of ISA-L's exported tiers, so narvault's kernels can be compared tier for tier.
 *
 *   isal_bench TIER ROUNDS ROUND_MS CELL...      TIER: avx2 | avx512 | avx | sse | base | auto
 *   CELL: k+m:size:op, op = encode | decode-m    e.g. 10+4:1048576:encode
 *
 * Prints one line per cell: tier k m size op median-MB/s min-MB/s max-MB/s. Every decode is
 * checked against the original data once before it is timed.
 */
#include <isa-l/erasure_code.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exported by libisal but not declared in its header. */
void ec_encode_data_avx512(int len, int k, int rows, unsigned char *gftbls, unsigned char **data,
                           unsigned char **coding);

typedef void (*encode_fn)(int, int, int, unsigned char *, unsigned char **, unsigned char **);

static encode_fn tier_function(const char *tier) {
  if (strcmp(tier, "avx512") == 0) return ec_encode_data_avx512;
  if (strcmp(tier, "avx2") == 0) return ec_encode_data_avx2;
  if (strcmp(tier, "avx") == 0) return ec_encode_data_avx;
  if (strcmp(tier, "sse") == 0) return ec_encode_data_sse;
  if (strcmp(tier, "base") == 0) return ec_encode_data_base;
  if (strcmp(tier, "auto") == 0) return ec_encode_data;
  return NULL;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char *aligned(size_t size) {
  void *p = NULL;
  if (posix_memalign(&p, 64, size) != 0) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void run_cell(encode_fn encode, const char *tier, int k, int m, int size, int decode,
                     int rounds, int round_ms) {
  int n = k + m;
  unsigned char *matrix = malloc((size_t)n * k);
  unsigned char *tables = malloc((size_t)32 * k * m);
  unsigned char **fragments = malloc(sizeof(unsigned char *) * n);
  unsigned char **rebuilt = malloc(sizeof(unsigned char *) * m);
  for (int i = 0; i < n; i++) fragments[i] = aligned(size);
  for (int i = 0; i < m; i++) rebuilt[i] = aligned(size);
  srand(1);
  for (int i = 0; i < k; i++)
    for (int b = 0; b < size; b++) fragments[i][b] = (unsigned char)rand();
  gf_gen_cauchy1_matrix(matrix, n, k);
  ec_init_tables(k, m, matrix + (size_t)k * k, tables);
  ec_encode_data(size, k, m, tables, fragments, fragments + k);

  unsigned char **inputs = fragments;
  unsigned char **outputs = fragments + k;
  unsigned char *decode_tables = NULL;
  unsigned char *survivors[256];
  if (decode) {
    /* The first min(m, k) data fragments are lost; survivors are the rest, in order. */
    int lost = m < k ? m : k;
    unsigned char *sub = malloc((size_t)k * k), *inverse = malloc((size_t)k * k);
    for (int r = 0; r < k; r++) {
      survivors[r] = fragments[lost + r];
      memcpy(sub + (size_t)r * k, matrix + (size_t)(lost + r) * k, k);
    }
    if (gf_invert_matrix(sub, inverse, k) != 0) {
      fprintf(stderr, "singular decode matrix\n");
      exit(2);
    }
    decode_tables = malloc((size_t)32 * k * lost);
    ec_init_tables(k, lost, inverse, decode_tables);
    encode(size, k, lost, decode_tables, survivors, rebuilt);
    for (int i = 0; i < lost; i++) {
      if (memcmp(rebuilt[i], fragments[i], size) != 0) {
        fprintf(stderr, "decode with tier %s rebuilt fragment %d wrongly\n", tier, i);
        exit(3);
      }
    }
    inputs = survivors;
    outputs = rebuilt;
    free(sub);
    free(inverse);
  }
  int out_count = decode ? (m < k ? m : k) : m;
  unsigned char *use_tables = decode ? decode_tables : tables;
  double *speeds = malloc(sizeof(double) * rounds);
  for (int round = -1; round < rounds; round++) {
    double start = now_seconds(), deadline = start + round_ms / 1000.0, t;
    long calls = 0;
    do {
      encode(size, k, out_count, use_tables, inputs, outputs);
      calls++;
    } while ((t = now_seconds()) < deadline);
    if (round >= 0) speeds[round] = calls * (double)k * size / (t - start) / 1e6;
  }
  qsort(speeds, rounds, sizeof(double), compare_doubles);
  printf("%s\t%d\t%d\t%d\t%s\t%.0f\t%.0f\t%.0f\n", tier, k, m, size, decode ? "decode-m" : "encode",
         speeds[rounds / 2], speeds[0], speeds[rounds - 1]);
  fflush(stdout);
  for (int i = 0; i < n; i++) free(fragments[i]);
  for (int i = 0; i < m; i++) free(rebuilt[i]);
  free(fragments);
  free(rebuilt);
  free(matrix);
  free(tables);
  free(decode_tables);
  free(speeds);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s TIER ROUNDS ROUND_MS k+m:size:op...\n", argv[0]);
    return 1;
  }
  encode_fn encode = tier_function(argv[1]);
  int rounds = atoi(argv[2]), round_ms = atoi(argv[3]);
  if (encode == NULL || rounds < 1 || round_ms < 1) {
    fprintf(stderr, "bad tier, rounds or round length\n");
    return 1;
  }
  for (int a = 4; a < argc; a++) {
    int k, m, size;
    char op[16];
    if (sscanf(argv[a], "%d+%d:%d:%15s", &k, &m, &size, op) != 4 || k < 1 || m < 1 || k + m > 255 ||
        size < 64 || (strcmp(op, "encode") != 0 && strcmp(op, "decode-m") != 0)) {
      fprintf(stderr, "bad cell '%s', expected k+m:size:encode|decode-m\n", argv[a]);
      return 1;
    }
    run_cell(encode, argv[1], k, m, size, strcmp(op, "decode-m") == 0, rounds, round_ms);
  }
  return 0;
}
