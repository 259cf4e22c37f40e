#include "../t.h"

void suite_expr(void)
{
}
