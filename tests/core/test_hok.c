#include "../t.h"

void suite_hok(void)
{
}
