/*
 * regex_guard.h: refuses POSIX extended regexes that would make glibc's
 * regcomp take exponential memory, before they reach it. Pure function over
 * a NUL-terminated pattern; no allocation, no state, thread-safe.
 */
#ifndef REGEX_GUARD_H
#define REGEX_GUARD_H

/*
 * Returns NULL when the pattern may be compiled, else a static string saying
 * why it is refused (for an error message: "stacked repetition operators
 * ...").
 */
const char *regex_guard_refusal(const char *re);

#endif
