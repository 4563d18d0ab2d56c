/*
 * opts.c: getopt_long parsing of the filter's command line (see opts.h).
 */
#define _GNU_SOURCE /* getopt_long */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

enum {
	O_INCLUDE = 256,
	O_EXCLUDE,
	O_SHARD,
	O_STRICT,
	O_MAX_LINE,
	O_PROGRESS,
	O_NO_PROGRESS,
	O_NO_HEADER,
	O_ZLIB,
	O_MAX_ERRORS,
	O_INPUT_FORMAT,
	O_VALIDATE,
	O_NO_PREFILTER,
	O_INPUT_RETRIES,
	O_MANIFEST,
	O_RESUME,
	O_PART_INPUT,
};

static const struct option long_opts[] = {
    {"where", required_argument, NULL, 'w'},
    {"columns", required_argument, NULL, 'c'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"input-format", required_argument, NULL, O_INPUT_FORMAT},
    {"include", required_argument, NULL, O_INCLUDE},
    {"exclude", required_argument, NULL, O_EXCLUDE},
    {"shard", required_argument, NULL, O_SHARD},
    {"jobs", required_argument, NULL, 'j'},
    {"strict", no_argument, NULL, O_STRICT},
    {"validate", no_argument, NULL, O_VALIDATE},
    {"no-prefilter", no_argument, NULL, O_NO_PREFILTER},
    {"max-line", required_argument, NULL, O_MAX_LINE},
    {"max-errors", required_argument, NULL, O_MAX_ERRORS},
    {"input-retries", required_argument, NULL, O_INPUT_RETRIES},
    {"manifest", required_argument, NULL, O_MANIFEST},
    {"resume", no_argument, NULL, O_RESUME},
    {"part-input", required_argument, NULL, O_PART_INPUT},
    {"quiet", no_argument, NULL, 'q'},
    {"progress", no_argument, NULL, O_PROGRESS},
    {"no-progress", no_argument, NULL, O_NO_PROGRESS},
    {"no-header", no_argument, NULL, O_NO_HEADER},
    {"zlib", no_argument, NULL, O_ZLIB},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

void opts_usage(FILE *f)
{
	fputs("usage: filter [OPTIONS] -c COLUMNS [-w EXPR] [-o OUT] PATH...\n"
	      "\n"
	      "Streams JSON-lines or Python-dict-lines records (gzip or plain; a directory is\n"
	      "walked recursively in sorted order; '-' is standard input), keeps the records\n"
	      "matching EXPR and writes the chosen columns as CSV (RFC 4180, CRLF rows).\n"
	      "\n"
	      "  -w, --where EXPR        predicate; default: every record. Examples:\n"
	      "                            event_type in ['purchase','refund'] and user.country == "
	      "'DE'\n"
	      "                            amount > 100 and not missing(user.name)\n"
	      "                            tags[0] startswith 'a/b' or id in @ids.txt\n"
	      "                          operators: == != < <= > >= in [..] in @FILE exists(p)\n"
	      "                          missing(p) startswith endswith contains matches (regex)\n"
	      "                          and or not ( ); a missing or null field fails every test\n"
	      "                          but exists/missing/== null\n"
	      "  -c, --columns LIST      comma-separated field paths: id,user.name,tags[0]\n"
	      "  -o, --output PATH       write to PATH (created/truncated; written sequentially\n"
	      "                          in 1 MiB writes, so a path on an s3mount mount streams\n"
	      "                          to S3); default standard output\n"
	      "  -f, --format FMT        csv (default), tsv or jsonl\n"
	      "      --input-format FMT  auto (default: each line JSON, else Python dict),\n"
	      "                          json or pydict\n"
	      "      --include GLOB      only files matching GLOB (repeatable); a GLOB with '/'\n"
	      "                          matches the path below the directory argument, else\n"
	      "                          the file name\n"
	      "      --exclude GLOB      skip matching files and directories (repeatable)\n"
	      "      --shard K/N         take shard K (0..N-1) of N: a file belongs to shard\n"
	      "                          hash(relative path) mod N, the same on every machine\n"
	      "  -j, --jobs N            files processed in parallel (default: CPU count); each\n"
	      "                          file inflates on its own thread, and gets a second\n"
	      "                          scanning thread when fewer files than cores are in\n"
	      "                          flight. Output stays in file order. Memory: ~15 MiB\n"
	      "                          per job (at most one line of --max-line more).\n"
	      "      --strict            stop at the first bad record, unreadable, corrupt or\n"
	      "                          truncated file (output then holds what came before);\n"
	      "                          implies --validate\n"
	      "      --validate          parse and check every line. By default a raw search\n"
	      "                          for EXPR's string literals (==, in [..], startswith,\n"
	      "                          endswith, contains) skips the lines that cannot\n"
	      "                          match without parsing them, so a malformed line among\n"
	      "                          them is not reported (the summary counts them as\n"
	      "                          skipped); the rows are the same either way\n"
	      "      --no-prefilter      the same as --validate (no raw search)\n"
	      "      --max-line BYTES    longest accepted line (default 8M; K/M/G suffixes);\n"
	      "                          a longer line is reported with file:line and skipped\n"
	      "      --max-errors N      bad records reported in detail (default 10; then only\n"
	      "                          counted)\n"
	      "      --input-retries N   a transient read error of an input file (EIO, a\n"
	      "                          timeout, data ending before the file's size) is\n"
	      "                          retried up to N times in a row (default 5; 0 = never):\n"
	      "                          wait 1 s (doubling, at most 16 s), reopen, read on\n"
	      "                          from the byte reached; rows are as without the fault.\n"
	      "                          EBADMSG (s3mount: checksum mismatch) is never retried:\n"
	      "                          the file fails. The summary counts retried inputs\n"
	      "      --manifest PATH     resumable run: -o OUT is written as parts OUT.part-0001,\n"
	      "                          OUT.part-0002, ... each closed (on s3mount: committed)\n"
	      "                          after --part-input of input, between two inputs; PATH\n"
	      "                          lists each committed part's inputs (size, mtime) and\n"
	      "                          is rewritten whole after each part. Only part 0001\n"
	      "                          has the header: join with `cat OUT.part-*`\n"
	      "      --resume            with --manifest and the same arguments: skip the\n"
	      "                          inputs of committed parts whose size and mtime match,\n"
	      "                          go on with the next part number\n"
	      "      --part-input SIZE   compressed input bytes per part (default 10G; K/M/G)\n"
	      "  -q, --quiet             no summary line\n"
	      "      --progress          progress line on stderr (default: when it is a terminal)\n"
	      "      --no-progress       never show the progress line\n"
	      "      --no-header         no CSV/TSV header row\n"
	      "      --zlib              inflate with zlib even when ISA-L is available\n"
	      "  -h, --help              this text\n"
	      "  -V, --version           version\n"
	      "\n"
	      "Exit status:\n"
	      "  0  every input read and every record parsed well-formed (lines skipped by\n"
	      "     the raw search are not parsed: --validate parses every line)\n"
	      "  1  bad records were skipped (or --strict stopped at one)\n"
	      "  2  usage error or bad expression/column list\n"
	      "  3  an input could not be read: missing/unreadable file or directory,\n"
	      "     corrupt or truncated gzip, over-long line (the rest was processed unless\n"
	      "     --strict)\n"
	      "  4  the output could not be written or closed\n"
	      "  5  internal error (out of memory, thread creation)\n"
	      "When several apply, the highest wins.\n",
	      f);
}

int opts_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end || v > (SIZE_MAX >> shift))
		return -EINVAL;
	*out = (size_t)(v << shift);
	return 0;
}

static int push(const char ***arr, size_t *n, const char *v)
{
	const char **a = realloc(*arr, (*n + 2) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	a[(*n)++] = v;
	a[*n] = NULL;
	*arr = a;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v > max)
		return -EINVAL;
	return 0;
}

#define USAGE_ERR(...)                                                                             \
	do {                                                                                       \
		snprintf(o->err, sizeof(o->err), __VA_ARGS__);                                     \
		return -EINVAL;                                                                    \
	} while (0)

int opts_parse(struct opts *o, int argc, char **argv)
{
	size_t ninc = 0, nexc = 0;
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->max_line = OPTS_DEFAULT_MAX_LINE;
	o->progress = -1;
	o->header = 1;
	o->max_errors = 10;
	o->input_retries = 5;
	o->part_input = (size_t)10 << 30;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":w:c:o:f:j:qhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			o->where = optarg;
			break;
		case 'c':
			o->columns = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "csv") == 0)
				o->format = OPTS_CSV;
			else if (strcmp(optarg, "tsv") == 0)
				o->format = OPTS_TSV;
			else if (strcmp(optarg, "jsonl") == 0 || strcmp(optarg, "json") == 0)
				o->format = OPTS_JSONL;
			else
				USAGE_ERR("--format: '%s' is not csv, tsv or jsonl", optarg);
			break;
		case O_INPUT_FORMAT:
			if (strcmp(optarg, "auto") == 0)
				o->informat = OPTS_IN_AUTO;
			else if (strcmp(optarg, "json") == 0)
				o->informat = OPTS_IN_JSON;
			else if (strcmp(optarg, "pydict") == 0 || strcmp(optarg, "python") == 0)
				o->informat = OPTS_IN_PYDICT;
			else
				USAGE_ERR("--input-format: '%s' is not auto, json or pydict",
					  optarg);
			break;
		case O_INCLUDE:
			if (push(&o->include, &ninc, optarg))
				USAGE_ERR("out of memory");
			break;
		case O_EXCLUDE:
			if (push(&o->exclude, &nexc, optarg))
				USAGE_ERR("out of memory");
			break;
		case O_SHARD:
			if (walk_shard_parse(optarg, &o->shard_k, &o->shard_n))
				USAGE_ERR("--shard: '%s' is not K/N with 0 <= K < N", optarg);
			break;
		case 'j':
			if (parse_uint(optarg, 1024, &v) || v == 0)
				USAGE_ERR("--jobs: '%s' is not a number from 1 to 1024", optarg);
			o->jobs = (unsigned)v;
			break;
		case O_STRICT:
			o->strict = 1;
			o->validate = 1; /* a stop at the first bad record needs them all parsed */
			break;
		case O_VALIDATE:
		case O_NO_PREFILTER:
			o->validate = 1;
			break;
		case O_MAX_LINE:
			if (opts_parse_size(optarg, &o->max_line) || o->max_line == 0 ||
			    o->max_line > (1u << 30))
				USAGE_ERR("--max-line: '%s' is not a size from 1 to 1G", optarg);
			break;
		case O_MANIFEST:
			o->manifest = optarg;
			break;
		case O_RESUME:
			o->resume = 1;
			break;
		case O_PART_INPUT:
			if (opts_parse_size(optarg, &o->part_input) || o->part_input == 0)
				USAGE_ERR("--part-input: '%s' is not a size (K/M/G)", optarg);
			break;
		case O_INPUT_RETRIES:
			if (parse_uint(optarg, 100, &v))
				USAGE_ERR("--input-retries: '%s' is not a number from 0 to 100",
					  optarg);
			o->input_retries = (unsigned)v;
			break;
		case O_MAX_ERRORS:
			if (parse_uint(optarg, 1000000000, &v))
				USAGE_ERR("--max-errors: '%s' is not a number", optarg);
			o->max_errors = (unsigned)v;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case O_PROGRESS:
			o->progress = 1;
			break;
		case O_NO_PROGRESS:
			o->progress = 0;
			break;
		case O_NO_HEADER:
			o->header = 0;
			break;
		case O_ZLIB:
			o->force_zlib = 1;
			break;
		case 'h':
			return OPTS_HELP;
		case 'V':
			return OPTS_VERSION;
		case ':':
			USAGE_ERR("option %s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				USAGE_ERR("unknown option -%c", optopt);
			USAGE_ERR("unknown option %s", argv[optind - 1]);
		}
	}
	if (!o->columns)
		USAGE_ERR("--columns is required (e.g. -c id,user.name)");
	if (optind >= argc)
		USAGE_ERR("no input PATH given ('-' reads standard input)");
	if (o->resume && !o->manifest)
		USAGE_ERR("--resume needs --manifest PATH");
	if (o->manifest && (!o->output || strcmp(o->output, "-") == 0))
		USAGE_ERR("--manifest needs -o OUT (a file: its parts are OUT.part-NNNN)");
	o->paths = argv + optind;
	o->n_paths = (size_t)(argc - optind);
	return 0;
}

void opts_release(struct opts *o)
{
	free(o->include);
	free(o->exclude);
	o->include = o->exclude = NULL;
}
