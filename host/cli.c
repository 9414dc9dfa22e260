#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>

#include "host/cli.h"

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

#if defined(__SANITIZE_ADDRESS__)
#define CLI_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLI_SANITIZED 1
#endif
#endif

void cli_protect_keys(void)
{
#ifndef CLI_SANITIZED
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}
