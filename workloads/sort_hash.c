/*
 * sort_hash: fills an array with pseudo-random 32-bit integers (xorshift32), sorts it with a
 * hand-written introsort-style quicksort (median of three, insertion sort for short ranges, recursion
 * on the smaller side), checks the order and hashes the sorted array (FNV-1a over the bytes), several
 * rounds with different seeds. Calls the async import every 256 elements while filling and hashing and
 * once per partition step while sorting, so suspensions land inside recursion too.
 *
 * Usage: sort_hash.wasm [n] [rounds]   (defaults 100000 and 2)
 * Exit code: the low 6 bits of the final hash plus 64 (a non-zero exit, through proc_exit), or 1 when
 * an array came out unsorted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "async_tick.h"

static long ticks;

/* noinline: every suspension unwinds through tick and its caller (quick_sort recursion, or _start). */
__attribute__((noinline)) static void tick(int v) {
    ticks++;
    async_tick(v);
}

static uint32_t xorshift32(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void insertion_sort(int32_t *a, int lo, int hi) {
    for (int i = lo + 1; i <= hi; i++) {
        int32_t v = a[i];
        int j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void swap(int32_t *a, int i, int j) {
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static void quick_sort(int32_t *a, int lo, int hi, int depth) {
    while (hi - lo > 16) {
        tick(depth);
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) swap(a, mid, lo);
        if (a[hi] < a[lo]) swap(a, hi, lo);
        if (a[hi] < a[mid]) swap(a, hi, mid);
        int32_t pivot = a[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                swap(a, i, j);
                i++;
                j--;
            }
        }
        /* recurse on the smaller side, loop on the larger */
        if (j - lo < hi - i) {
            quick_sort(a, lo, j, depth + 1);
            lo = i;
        } else {
            quick_sort(a, i, hi, depth + 1);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

static uint64_t fnv1a(const int32_t *a, int n) {
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) {
        uint32_t v = (uint32_t) a[i];
        for (int b = 0; b < 4; b++) {
            h ^= (v >> (8 * b)) & 0xff;
            h *= 1099511628211ULL;
        }
        if ((i & 255) == 255) {
            tick(i);
        }
    }
    return h;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    int rounds = argc > 2 ? atoi(argv[2]) : 2;
    if (n < 1 || rounds < 1) {
        fprintf(stderr, "n and rounds must be positive\n");
        return 2;
    }
    int32_t *a = malloc(sizeof(int32_t) * (size_t) n);
    if (a == NULL) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    uint64_t total = 0;
    for (int r = 0; r < rounds; r++) {
        uint32_t seed = 2463534242u + (uint32_t) r * 7919u;
        for (int i = 0; i < n; i++) {
            a[i] = (int32_t) xorshift32(&seed);
            if ((i & 255) == 255) {
                tick(i);
            }
        }
        quick_sort(a, 0, n - 1, 0);
        for (int i = 1; i < n; i++) {
            if (a[i - 1] > a[i]) {
                printf("round %d: unsorted at %d\n", r, i);
                return 1;
            }
        }
        uint64_t h = fnv1a(a, n);
        printf("round %d: min %d median %d max %d hash %016llx\n", r, a[0], a[n / 2], a[n - 1],
               (unsigned long long) h);
        total = total * 31 + h;
    }
    free(a);
    printf("checksum = %016llx\nticks = %ld\n", (unsigned long long) total, ticks);
    return 64 + (int) (total & 63);
}
