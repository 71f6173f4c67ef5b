#include <stdio.h>
int main(void) { fprintf(stderr, "test_http_uri: not written yet\n"); return 1; }
