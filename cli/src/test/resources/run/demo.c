// A WASI command for the `run` tests: prints its arguments and environment, and with
// `--cat PATH` the contents of a file (read through a preopened directory), with `--exit N` exits N.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) {
        printf("argv[%d]=%s\n", i, argv[i]);
    }
    for (char **e = environ; *e != NULL; e++) {
        printf("env %s\n", *e);
    }
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--cat") == 0) {
            FILE *f = fopen(argv[i + 1], "r");
            if (f == NULL) {
                perror(argv[i + 1]);
                return 4;
            }
            char line[256];
            while (fgets(line, sizeof line, f) != NULL) {
                printf("file: %s", line);
            }
            fclose(f);
        } else if (strcmp(argv[i], "--exit") == 0) {
            return atoi(argv[i + 1]);
        }
    }
    return 0;
}
