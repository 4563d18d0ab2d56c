/*
 * opts.h: the filter's command line (getopt_long) -> struct opts.
 *
 * opts_parse never exits and prints nothing: it returns OPTS_HELP or
 * OPTS_VERSION when those were asked for, or -EINVAL with a message in
 * err[] for a usage error (main prints it and exits 2). Strings in struct
 * opts point into argv (not copied); the include/exclude arrays are owned by
 * the struct (opts_release). opts_usage() writes the --help text.
 */
#ifndef OPTS_H
#define OPTS_H
#include <stddef.h>
#include <stdio.h>

enum opts_outfmt { OPTS_CSV = 0, OPTS_TSV, OPTS_JSONL };
enum opts_infmt { OPTS_IN_AUTO = 0, OPTS_IN_JSON, OPTS_IN_PYDICT };

#define OPTS_HELP 1
#define OPTS_VERSION 2

#define OPTS_DEFAULT_MAX_LINE (8u << 20) /* bytes */

struct opts {
	const char *where;   /* predicate, NULL = every record matches */
	const char *columns; /* column list (required) */
	const char *output;  /* NULL or "-" = stdout */
	enum opts_outfmt format;
	enum opts_infmt informat;
	const char **include; /* NULL-terminated (owned array, borrowed strings) */
	const char **exclude;
	unsigned shard_k, shard_n; /* shard_n 0 = no sharding */
	unsigned jobs;		   /* 0 = number of online CPUs */
	int strict;
	int validate; /* --validate, --no-prefilter, --strict: parse every line */
	size_t max_line;
	int quiet;
	int progress; /* -1 auto (stderr is a terminal), 0 off, 1 on */
	int header;
	int force_zlib;
	unsigned max_errors;	/* bad records reported in detail */
	const char *manifest;	/* --manifest PATH: output as committed parts */
	int resume;		/* --resume: skip the inputs of the manifest's parts */
	size_t part_input;	/* --part-input: input bytes (compressed) per part */
	unsigned input_retries; /* gzin_opts.retries: transient read errors retried */
	char *const *paths;	/* PATH arguments (into argv) */
	size_t n_paths;
	char err[256]; /* usage error message */
};

int opts_parse(struct opts *o, int argc, char **argv);
void opts_release(struct opts *o);
void opts_usage(FILE *f);

/* "64M", "1g", "4096" -> bytes. 0 or -EINVAL. */
int opts_parse_size(const char *s, size_t *out);

#endif
