/*
 * regex_guard.c: see regex_guard.h. Used by the predicate parser for `matches`
 * and `=~`; kept apart because it is a policy about libc's regex engine, not
 * part of the expression grammar.
 */
#include "regex_guard.h"

#include <stddef.h>

/*
 * glibc's regcomp copies the tree of a repeated group once per repetition, so
 * stacked quantifiers (`a++++`, undefined in POSIX ERE anyway) or large/nested
 * bounds (`(a{200}){200}`) take exponential memory: a mistyped -w must not
 * eat the machine. Returns why a pattern is refused, or NULL.
 */
const char *regex_guard_refusal(const char *re)
{
	int prev_quant = 0;
	long bounds = 1;
	for (size_t i = 0; re[i]; i++) {
		char c = re[i];
		if (c == '\\' && re[i + 1]) {
			i++;
			prev_quant = 0;
			continue;
		}
		if (c == '[') {
			/* a bracket expression: ']' first is literal */
			size_t j = i + 1;
			if (re[j] == '^')
				j++;
			if (re[j] == ']')
				j++;
			while (re[j] && re[j] != ']')
				j++;
			i = re[j] ? j : j - 1;
			prev_quant = 0;
			continue;
		}
		int quant = c == '*' || c == '+' || c == '?' || c == '{';
		if (quant && prev_quant)
			return "stacked repetition operators (like '++' or '*{2}')";
		if (c == '{') {
			long v = 0, vmax = 1;
			size_t j = i + 1;
			for (; re[j] && re[j] != '}'; j++) {
				if (re[j] >= '0' && re[j] <= '9') {
					v = v * 10 + (re[j] - '0');
					if (v > 255)
						return "a repetition bound over 255";
					if (v > vmax)
						vmax = v;
				} else if (re[j] == ',') {
					v = 0;
				}
			}
			/* nested bounds multiply: cap the product of all of them */
			bounds *= vmax;
			if (bounds > 4096)
				return "repetition bounds whose product exceeds 4096";
			i = re[j] ? j : j - 1;
		}
		prev_quant = quant;
	}
	return NULL;
}
