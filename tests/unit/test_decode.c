#include <stdio.h>
int main(void) { fprintf(stderr, "test_decode: not written yet\n"); return 1; }
