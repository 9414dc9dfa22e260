#include <stddef.h>
#include <string.h>

#include "apdu/cli.h"

bool cli_take_flag(int *argc, char **argv, const char *flag)
{
	bool found = false;
	int n = 0;
	for (int i = 0; i < *argc; i++) {
		if (i > 0 && !strcmp(argv[i], flag)) {
			found = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	*argc = n;
	argv[n] = NULL;
	return found;
}
