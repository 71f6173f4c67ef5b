#include <stdio.h>
int main(void) { fprintf(stderr, "test_stream: not written yet\n"); return 1; }
