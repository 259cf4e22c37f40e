#include "../t.h"

void suite_decimate(void)
{
}
