// The Asyncify blog's Emscripten-style loop: prints, then sleeps through an import of the embedder
// (env.sleep, milliseconds), which `run --async-sleep env.sleep` backs with a timer: the guest is
// suspended while it sleeps. Arguments: [ROUNDS [MILLISECONDS]] (default 3 rounds of 50 ms).
#include <stdio.h>
#include <stdlib.h>

__attribute__((import_module("env"), import_name("sleep"))) void sleep_ms(int ms);

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    int ms = argc > 2 ? atoi(argv[2]) : 50;
    for (int i = 0; i < rounds; i++) {
        printf("tick %d\n", i);
        fflush(stdout);
        sleep_ms(ms);
    }
    printf("done\n");
    return 0;
}
