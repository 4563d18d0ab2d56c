/* test_bdi.c: finding a mount's device number in mountinfo text (real
 * lines of this kernel's format; escaped names; stacked mounts; malformed
 * lines), and bdi_set_readahead() on a path that is not a mount point. */
#include <errno.h>
#include <string.h>

#include "bdi.h"
#include "t.h"

static const char MI[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "25 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "61 22 0:39 / /tmp/mnt-read rw,nosuid,nodev,relatime shared:30 - fuse.s3mount rdbench "
    "rw,user_id=0,group_id=0\n"
    "62 22 0:40 / /mnt/my\\040bucket rw,relatime shared:31 - fuse.s3mount b rw\n"
    "63 61 0:41 / /tmp/mnt-read rw,relatime shared:32 - fuse.s3mount other rw\n"
    "garbage line without fields\n"
    "64 22 x:y / /bad rw - fuse.s3mount b rw\n"
    "65 22 0:42 / /noeol rw - fuse.s3mount b rw";

static void test_find(void)
{
	unsigned maj = 99, min = 99;
	CHECK_INT(bdi_find_dev(MI, strlen(MI), "/proc", &maj, &min), 0);
	CHECK_INT(maj, 0);
	CHECK_INT(min, 22);
	/* \040 is a space in mountinfo */
	CHECK_INT(bdi_find_dev(MI, strlen(MI), "/mnt/my bucket", &maj, &min), 0);
	CHECK_INT(min, 40);
	/* a mount on top of another on the same path: the last one is visible */
	CHECK_INT(bdi_find_dev(MI, strlen(MI), "/tmp/mnt-read", &maj, &min), 0);
	CHECK_INT(min, 41);
	/* the last line has no newline */
	CHECK_INT(bdi_find_dev(MI, strlen(MI), "/noeol", &maj, &min), 0);
	CHECK_INT(min, 42);
	CHECK_INT(bdi_find_dev(MI, strlen(MI), "/", &maj, &min), 0);
	CHECK_INT(maj, 8);
	CHECK_INT(min, 1);
}

static void test_not_found(void)
{
	unsigned maj = 7, min = 7;
	CHECK_INT(bdi_find_dev(MI, strlen(MI), "/tmp", &maj, &min), -ENOENT);
	CHECK_INT(bdi_find_dev(MI, strlen(MI), "/mnt/my", &maj, &min), -ENOENT);
	/* a malformed device field never matches */
	CHECK_INT(bdi_find_dev(MI, strlen(MI), "/bad", &maj, &min), -ENOENT);
	CHECK_INT(bdi_find_dev(MI, 0, "/", &maj, &min), -ENOENT);
	CHECK_INT(maj, 7);
	CHECK_INT(min, 7);
	/* a field longer than the parser's buffer is skipped, not overflowed */
	static char longl[6000];
	memset(longl, 'a', sizeof(longl) - 1);
	memcpy(longl, "1 2 0:5 / /", 11);
	CHECK_INT(bdi_find_dev(longl, strlen(longl), "/", &maj, &min), -ENOENT);
}

static void test_set_on_non_mount(void)
{
	/* a directory that is not a mount point has no line of its own */
	CHECK_INT(bdi_set_readahead("/nonexistent-s3mount-dir", 1024), -ENOENT);
}

int main(void)
{
	T_RUN(test_find);
	T_RUN(test_not_found);
	T_RUN(test_set_on_non_mount);
	return T_DONE();
}
