#include <stdio.h>
int main(void) { fprintf(stderr, "test_flow: not written yet\n"); return 1; }
