/* conf.c: libFuzzer target: the configuration file, from text to checked options. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "conf.h"

/*
 * The input is the file's text.  A rejected file must say why, in the
 * "file:line: message" form; an accepted one must give the options every
 * process relies on being set.
 */
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xf_conf_t	*cf = NULL;
	char		 err[512];

	if (xf_conf_load_text("fuzz.conf", (const char *)data, size, &cf, err,
	    sizeof(err)) != XF_OK) {
		if (cf != NULL || strncmp(err, "fuzz.conf:", 10) != 0) {
			fprintf(stderr, "bad error: '%s'\n", err);
			abort();
		}
		return 0;
	}
	if (cf->cf_path == NULL || cf->cf_data_dir == NULL ||
	    cf->cf_data_dir[0] != '/' || cf->cf_control_socket == NULL ||
	    cf->cf_pid_file == NULL || cf->cf_store_dsn == NULL ||
	    cf->cf_workers < 1) {
		fprintf(stderr, "an accepted config lacks a setting\n");
		abort();
	}
	xf_conf_free(cf);
	return 0;
}
