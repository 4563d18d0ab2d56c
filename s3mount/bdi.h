/*
 * bdi.h: raise the kernel's readahead for this mount.
 *
 * FUSE reads ahead at most min(the mount's bdi read_ahead_kb, the
 * max_readahead the daemon answers at INIT); the bdi starts at the kernel
 * default (128 KiB), so a streaming reader sees small requests and little
 * pipelining whatever the daemon answers. Root can raise the bdi's value in
 * sysfs (/sys/class/bdi/MAJOR:MINOR/read_ahead_kb, the mount's st_dev).
 *
 * The mount's device number comes from /proc/self/mountinfo, not stat():
 * op_init runs before the kernel's INIT is answered, and a stat of the
 * mount root would wait for that answer (a deadlock).
 *
 * bdi_find_dev() is pure (tested without a mount); bdi_set_readahead()
 * does the I/O. Thread-safe (no state). Errors: negative errno.
 */
#ifndef BDI_H
#define BDI_H
#include <stddef.h>

/* In the text of a mountinfo file (len bytes), finds the LAST mount whose
 * mount point is path (absolute; mountinfo's \ooo escapes are decoded) and
 * stores its device numbers. 0, or -ENOENT when no line matches. */
int bdi_find_dev(const char *text, size_t len, const char *path, unsigned *major, unsigned *minor);

/* Sets read_ahead_kb of the mount on path (absolute) to kb. -EACCES/-EPERM
 * when not allowed (not root), -ENOENT when the mount or its bdi is not
 * found, another negative errno on I/O failure. */
int bdi_set_readahead(const char *path, unsigned kb);

#endif
