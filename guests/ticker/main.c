/* ticker: prints "tick N mpidr 0x..." every ~50 ms forever (N from 1). The "other VM that keeps
 * working" in the integration tests. */
#include "guest.h"

int main(void)
{
	tick_forever();
}
