/* The fp32 FMA ceiling of this CPU: every thread runs independent chains of the widest vector FMA the
 * compiler targets (-march=native), enough chains to hide the FMA's latency on every pipe, and nothing
 * else (no loads, no stores in the loop). Built and run by bench/cpu.py.
 *
 * Usage: fma_ceiling THREADS ITERATIONS
 * Prints: ISA LANES CHAINS THREADS SECONDS GFLOPS CHECKSUM
 * FLOPs = THREADS x ITERATIONS x CHAINS x LANES x 2 (an FMA is a multiply and an add).
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define ISA "avx512f"
#define LANES 16
#define CHAINS 24 /* of 32 registers: 2 FMA pipes x 4 cycles latency = 8 in flight, with margin */
typedef __m512 vec;
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define STORE _mm512_storeu_ps
#elif defined(__FMA__) && defined(__AVX__)
#define ISA "avx2-fma"
#define LANES 8
#define CHAINS 12 /* of 16 registers, 2 left for the operands */
typedef __m256 vec;
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define STORE _mm256_storeu_ps
#else
#error "no FMA instructions targeted (-march=native found neither AVX-512F nor FMA3)"
#endif

struct job {
    long iterations;
    float seed;
    pthread_barrier_t *start;
    double begin, end; /* taken by the thread itself: a descheduled main thread cannot shorten the span */
    float sum;
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void *run(void *argument) {
    struct job *job = argument;
    /* a = a * m + c converges to c / (1 - m) = 1: no overflow, no denormals, whatever the count. */
    vec m = SET1(0.999f), c = SET1(0.001f);
    vec acc[CHAINS];
    for (int k = 0; k < CHAINS; k++) acc[k] = SET1(job->seed + k);
    pthread_barrier_wait(job->start);
    job->begin = now();
    for (long i = 0; i < job->iterations; i++) {
#pragma GCC unroll 32
        for (int k = 0; k < CHAINS; k++) acc[k] = FMA(acc[k], m, c);
    }
    float lanes[LANES], sum = 0.0f;
    for (int k = 0; k < CHAINS; k++) {
        STORE(lanes, acc[k]);
        for (int l = 0; l < LANES; l++) sum += lanes[l];
    }
    job->end = now();
    job->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s THREADS ITERATIONS\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[1]);
    long iterations = atol(argv[2]);
    if (threads < 1 || iterations < 1) {
        fprintf(stderr, "THREADS and ITERATIONS must be positive: %s %s\n", argv[1], argv[2]);
        return 2;
    }
    pthread_t *ids = malloc(threads * sizeof *ids);
    struct job *jobs = malloc(threads * sizeof *jobs);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, threads + 1);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){iterations, 1.0f + t, &start, 0.0, 0.0, 0.0f};
        pthread_create(&ids[t], NULL, run, &jobs[t]);
    }
    pthread_barrier_wait(&start);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    /* From the first thread's start to the last one's end, each timed by the thread that ran. */
    double begin = jobs[0].begin, end = jobs[0].end;
    for (int t = 1; t < threads; t++) {
        if (jobs[t].begin < begin) begin = jobs[t].begin;
        if (jobs[t].end > end) end = jobs[t].end;
    }
    double seconds = end - begin;
    double checksum = 0.0;
    for (int t = 0; t < threads; t++) checksum += jobs[t].sum;
    double flops = 2.0 * threads * (double)iterations * CHAINS * LANES;
    printf("%s %d %d %d %.9e %.6e %.9g\n", ISA, LANES, CHAINS, threads, seconds, flops / seconds / 1e9, checksum);
    return 0;
}
