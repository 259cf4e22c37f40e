#include <stdio.h>
int main(void)
{
    printf("bench_core: not yet\n");
    return 0;
}
