#include "check.h"
int main(void){ check_init("x"); return check_summary(); }
