/*
 * fannkuch-redux: for every permutation of 0..n-1, count the prefix reversals ("flips") needed until
 * 0 is in front; print the checksum (alternating sum of flip counts) and the maximum.
 * The flip loop (the innermost loop around the reversal) calls the async import once per flip.
 *
 * Usage: fannkuch.wasm [n] [reps]   (defaults 8 and 2: the whole computation is repeated reps times;
 * 3 <= n <= 12)
 * Exit code: 0 when the result matches the known value for n (or n has no known value), 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include "async_tick.h"

static long ticks;

/* noinline: suspensions then unwind through two frames (fannkuch, and main inlined into _start). */
__attribute__((noinline)) static int fannkuch(int n, int *checksum_out) {
    int perm[16], perm1[16], count[16];
    int max_flips = 0, checksum = 0, permutation = 0, r = n;
    for (int i = 0; i < n; i++) {
        perm1[i] = i;
    }
    for (;;) {
        while (r != 1) {
            count[r - 1] = r;
            r--;
        }
        for (int i = 0; i < n; i++) {
            perm[i] = perm1[i];
        }
        int flips = 0;
        int k;
        while ((k = perm[0]) != 0) {
            for (int i = 0, j = k; i < j; i++, j--) {
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            flips++;
            ticks++;
            async_tick(flips);
        }
        if (flips > max_flips) {
            max_flips = flips;
        }
        checksum += (permutation % 2 == 0) ? flips : -flips;
        /* next permutation (the benchmark game's rotation order) */
        for (;;) {
            if (r == n) {
                *checksum_out = checksum;
                return max_flips;
            }
            int first = perm1[0];
            for (int i = 0; i < r; i++) {
                perm1[i] = perm1[i + 1];
            }
            perm1[r] = first;
            if (--count[r] > 0) {
                break;
            }
            r++;
        }
        permutation++;
    }
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 8;
    int reps = argc > 2 ? atoi(argv[2]) : 2;
    if (n < 3 || n > 12 || reps < 1) {
        fprintf(stderr, "n must be in 3..12, reps positive\n");
        return 2;
    }
    int checksum = 0;
    int max_flips = 0;
    for (int r = 0; r < reps; r++) {
        max_flips = fannkuch(n, &checksum);
    }
    printf("%d\nPfannkuchen(%d) = %d\nticks = %ld\n", checksum, n, max_flips, ticks);
    /* Known results of the benchmark game. */
    static const int known_checksum[13] = {0, 0, 0, 2, 4, 11, 49, 228, 1616, 8629, 73196, 556355, 3968050};
    static const int known_max[13] = {0, 0, 0, 2, 4, 7, 10, 16, 22, 30, 38, 51, 65};
    return checksum == known_checksum[n] && max_flips == known_max[n] ? 0 : 1;
}
