/*
 * A plugin whose calls suspend in an async import while their C shadow-stack frame is live.
 *
 * handle(id) fetches the keys id*10, id*10+1 and id*10+2 from the host (env.fetch, an async import on
 * asyncify4j), keeps each value in a local array that lives in handle's shadow-stack frame (volatile:
 * every access goes to linear memory, at -O2 too), prints it with printf (whose own frames are
 * allocated below the stack pointer), and returns the sum of the array read back from memory.
 *
 * With fetch(key) = 2 * key: handle(id) = 2 * (3 * 10 * id + 0 + 1 + 2) = 60 * id + 6,
 * so handle(1) + handle(2) + handle(3) = 66 + 126 + 186 = 378.
 *
 * Calls interleaved on one instance share the global __stack_pointer: a call that returns while a
 * call started after it is still suspended resets the pointer above that call's frame, and the next
 * printf overwrites the suspended call's array.
 */
#include <stdio.h>

__attribute__((import_module("env"), import_name("fetch")))
int fetch(int key);

__attribute__((export_name("handle")))
int handle(int id) {
    volatile int values[3];
    for (int i = 0; i < 3; i++) {
        values[i] = fetch(id * 10 + i);
        printf("handle(%d): fetch(%d) = %d\n", id, id * 10 + i, values[i]);
    }
    int sum = 0;
    for (int i = 0; i < 3; i++) {
        sum += values[i];
    }
    return sum;
}
