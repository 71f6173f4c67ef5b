#include <stdio.h>
int main(void) { fprintf(stderr, "test_config: not written yet\n"); return 1; }
