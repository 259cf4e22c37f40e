#include "../t.h"

void suite_licence(void)
{
}
