#include <stdio.h>
int main(void) { fprintf(stderr, "test_detect: not written yet\n"); return 1; }
