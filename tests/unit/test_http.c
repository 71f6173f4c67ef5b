#include <stdio.h>
int main(void) { fprintf(stderr, "test_http: not written yet\n"); return 1; }
