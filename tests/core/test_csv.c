#include "../t.h"

void suite_csv(void)
{
}
