/* main.c — the synod binary (placeholder until the server lands). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("synod 0.1.0\n");
        return 0;
    }
    fprintf(stderr, "synod: server not built yet\n");
    return 1;
}
