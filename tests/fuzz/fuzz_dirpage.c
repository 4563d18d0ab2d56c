/* fuzz-lib: s3mountcore */
/*
 * fuzz_dirpage.c: dir_page_entries() and lookup_name_check() over listing pages
 * whose keys come from the server (any bytes). Input: lines; the first is the
 * listed directory key, then one key per line, a line ending in '/' being a
 * CommonPrefix. Checks that every entry returned is a usable name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "log.h"
#include "lookup.h"

#define MAX_LINES 256

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_level_set(LOG_LVL_ERROR);
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *lines[MAX_LINES + 1];
	size_t n = 0;
	char *p = text;
	while (n <= MAX_LINES) {
		lines[n++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	struct s3_list_page pg;
	memset(&pg, 0, sizeof(pg));
	struct s3_list_entry ents[MAX_LINES];
	char *prefixes[MAX_LINES];
	for (size_t i = 1; i < n; i++) {
		size_t len = strlen(lines[i]);
		if (len && lines[i][len - 1] == '/') {
			prefixes[pg.nprefixes++] = lines[i];
		} else {
			memset(&ents[pg.nentries], 0, sizeof(ents[0]));
			ents[pg.nentries].key = lines[i];
			ents[pg.nentries].size = len;
			pg.nentries++;
		}
	}
	/* S3 sends prefixes sorted */
	qsort(prefixes, pg.nprefixes, sizeof(char *), cmp_str);
	pg.entries = pg.nentries ? ents : NULL;
	pg.prefixes = pg.nprefixes ? prefixes : NULL;
	struct dir_entry out[MAX_LINES];
	size_t got = dir_page_entries(lines[0], &pg, out);
	if (got > pg.nentries + pg.nprefixes)
		abort();
	for (size_t i = 0; i < got; i++)
		if (lookup_name_check(out[i].name, strlen(out[i].name)) != LOOKUP_NAME_OK)
			abort();
	free(text);
	return 0;
}
