#include "../t.h"

void suite_hok2(void)
{
}
