#include "../t.h"

void suite_alarm(void)
{
}
