// A WASI reactor (-mexec-model=reactor): exports _initialize, which runs the constructors, and no _start.
// add_base returns x + 40 once _initialize has run, x + 0 if it has not.
#include <stdio.h>

static int base;

__attribute__((constructor)) static void init(void) {
    base = 40;
}

__attribute__((export_name("add_base"))) int add_base(int x) {
    return base + x;
}

__attribute__((export_name("hello"))) void hello(void) {
    printf("hello from a reactor, base %d\n", base);
    fflush(stdout);
}
