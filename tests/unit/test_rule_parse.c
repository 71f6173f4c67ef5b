#include <stdio.h>
int main(void) { fprintf(stderr, "test_rule_parse: not written yet\n"); return 1; }
