/* test_itable.c: the inode table: keys, nlookup/forget lifetime, stable
 * numbers, rename, a file turning into a directory, the unused-entry cap. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "itable.h"
#include "monoclock.h"
#include "t.h"

static struct inode *add(struct itable *it, struct inode *p, const char *name, int dir)
{
	return itable_upsert_locked(it, p, name, dir, dir ? 0 : 42, 1000, dir ? NULL : "\"e\"",
				    mono_s());
}

static void test_keys(void)
{
	struct itable *it;
	CHECK_INT(itable_new("pre/fix/", &it), 0);
	char k[S3_KEY_MAX + 2];
	itable_lock(it);
	struct inode *root = itable_root_locked(it);
	CHECK_INT(root->ino, 1);
	CHECK_INT(inode_key_locked(it, root, k, sizeof(k)), 0);
	CHECK_STR(k, "pre/fix/");
	struct inode *a = add(it, root, "a b", 1);
	struct inode *f = add(it, a, "caf\xc3\xa9.txt", 0);
	CHECK(a && f);
	CHECK_INT(inode_key_locked(it, a, k, sizeof(k)), 0);
	CHECK_STR(k, "pre/fix/a b/");
	CHECK_INT(inode_key_locked(it, f, k, sizeof(k)), 0);
	CHECK_STR(k, "pre/fix/a b/caf\xc3\xa9.txt");
	CHECK_INT(inode_child_key_locked(it, a, "x", 0, k, sizeof(k)), 0);
	CHECK_STR(k, "pre/fix/a b/x");
	CHECK_INT(inode_child_key_locked(it, a, "x", 1, k, sizeof(k)), 0);
	CHECK_STR(k, "pre/fix/a b/x/");
	CHECK(itable_child_locked(it, a, "caf\xc3\xa9.txt") == f);
	CHECK(itable_child_locked(it, root, "caf\xc3\xa9.txt") == NULL);
	CHECK(itable_find_locked(it, f->ino) == f);
	/* too long for S3 */
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct inode *d = a;
	for (int i = 0; i < 4; i++)
		d = add(it, d, longname, 1);
	CHECK_INT(inode_key_locked(it, d, k, sizeof(k)), -ENAMETOOLONG);
	itable_unlock(it);
	itable_free(it);
}

static void test_lifetime(void)
{
	struct itable *it;
	CHECK_INT(itable_new("", &it), 0);
	itable_lock(it);
	struct inode *root = itable_root_locked(it);
	struct inode *d = add(it, root, "d", 1);
	struct inode *f = add(it, d, "f", 0);
	uint64_t dino = d->ino, fino = f->ino;
	inode_lookup_locked(it, d);
	inode_lookup_locked(it, f);
	inode_lookup_locked(it, f);
	/* upsert of the same name keeps the number and refreshes attributes */
	struct inode *f2 = itable_upsert_locked(it, d, "f", 0, 7, 2000, "\"x\"", mono_s());
	CHECK(f2 == f);
	CHECK_INT(f->size, 7);
	CHECK_STR(f->etag, "\"x\"");
	/* a commit here stamps newer attributes; a LIST/HEAD answer whose request
	 * was sent before that (in flight during the commit) must not put the old
	 * version back (the soak's ESTALE: the next open pinned the old ETag) */
	double sent = mono_s();
	f->size = 9;
	snprintf(f->etag, sizeof(f->etag), "%s", "\"new\"");
	f->attr_time = sent + 1.0;
	CHECK(itable_upsert_locked(it, d, "f", 0, 7, 2000, "\"x\"", sent) == f);
	CHECK_INT(f->size, 9);
	CHECK_STR(f->etag, "\"new\"");
	/* an answer requested after the commit does replace them */
	CHECK(itable_upsert_locked(it, d, "f", 0, 11, 3000, "\"y\"", sent + 2.0) == f);
	CHECK_INT(f->size, 11);
	CHECK_STR(f->etag, "\"y\"");
	itable_unlock(it);

	itable_forget(it, fino, 1);
	itable_lock(it);
	CHECK(itable_find_locked(it, fino) == f); /* one reference left */
	/* unlink while referenced: unreachable by name, alive by number */
	inode_unhash_locked(it, f);
	CHECK(itable_child_locked(it, d, "f") == NULL);
	CHECK(itable_find_locked(it, fino) == f);
	itable_unlock(it);
	itable_forget(it, fino, 1);
	itable_lock(it);
	CHECK(itable_find_locked(it, fino) == NULL); /* freed */
	/* d: forgotten but still named: kept as a cached entry */
	itable_unlock(it);
	itable_forget(it, dino, 1);
	itable_lock(it);
	CHECK(itable_find_locked(it, dino) == d);
	CHECK(itable_child_locked(it, root, "d") == d);
	struct itable_stats st;
	itable_unlock(it);
	itable_stats(it, &st);
	CHECK_INT(st.unused, 1);
	itable_free(it);
}

static void test_type_change_and_move(void)
{
	struct itable *it;
	CHECK_INT(itable_new("", &it), 0);
	char k[S3_KEY_MAX + 2];
	itable_lock(it);
	struct inode *root = itable_root_locked(it);
	struct inode *f = add(it, root, "x", 0);
	inode_lookup_locked(it, f);
	uint64_t fino = f->ino;
	struct inode *d = add(it, root, "x", 1); /* x became a directory */
	CHECK(d != f);
	CHECK(d->is_dir);
	CHECK(itable_child_locked(it, root, "x") == d);
	CHECK(itable_find_locked(it, fino) == f); /* the kernel still holds it */

	struct inode *a = add(it, root, "a", 1);
	struct inode *g = add(it, a, "g", 0);
	inode_lookup_locked(it, g);
	struct inode *b = add(it, root, "b", 1);
	struct inode *old = add(it, b, "h", 0); /* replaced by the move */
	CHECK_INT(inode_move_locked(it, g, b, "h"), 0);
	CHECK(itable_child_locked(it, b, "h") == g);
	CHECK(itable_child_locked(it, a, "g") == NULL);
	CHECK(old != g);
	CHECK_INT(inode_key_locked(it, g, k, sizeof(k)), 0);
	CHECK_STR(k, "b/h");
	/* a directory move carries its children's keys along */
	CHECK_INT(inode_move_locked(it, b, a, "c"), 0);
	CHECK_INT(inode_key_locked(it, g, k, sizeof(k)), 0);
	CHECK_STR(k, "a/c/h");
	itable_unlock(it);
	itable_free(it);
}

static void test_unused_cap(void)
{
	struct itable *it;
	CHECK_INT(itable_new("", &it), 0);
	char name[32];
	itable_lock(it);
	struct inode *root = itable_root_locked(it);
	struct inode *d = add(it, root, "big", 1);
	inode_lookup_locked(it, d);
	for (int i = 0; i < ITABLE_MAX_UNUSED + 5000; i++) {
		snprintf(name, sizeof(name), "f%06d", i);
		CHECK(add(it, d, name, 0) != NULL);
	}
	/* the oldest unused entries were dropped, the newest are there */
	CHECK(itable_child_locked(it, d, "f000000") == NULL);
	snprintf(name, sizeof(name), "f%06d", ITABLE_MAX_UNUSED + 4999);
	CHECK(itable_child_locked(it, d, name) != NULL);
	CHECK(itable_child_locked(it, root, "big") == d);
	itable_unlock(it);
	struct itable_stats st;
	itable_stats(it, &st);
	CHECK(st.unused <= ITABLE_MAX_UNUSED);
	CHECK(st.inodes <= ITABLE_MAX_UNUSED + 3);
	itable_free(it);
}

static int count_child(void *arg, const struct inode *c)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

/* Stale listings (outage.h) trust a directory's listed_full only while
 * every child is still in the table: an eviction of one of its children
 * clears it and counts; children are found by itable_children_locked. */
static void test_children_and_evictions(void)
{
	struct itable *it;
	CHECK_INT(itable_new("", &it), 0);
	char name[32];
	itable_lock(it);
	struct inode *root = itable_root_locked(it);
	struct inode *a = add(it, root, "a", 1), *b = add(it, root, "b", 1);
	inode_lookup_locked(it, a);
	inode_lookup_locked(it, b);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "x%d", i);
		CHECK(add(it, a, name, i % 2) != NULL);
	}
	int n = 0;
	CHECK_INT(itable_children_locked(it, a, count_child, &n), 0);
	CHECK_INT(n, 10);
	n = 0;
	CHECK_INT(itable_children_locked(it, root, count_child, &n), 0);
	CHECK_INT(n, 2);
	a->listed_full = 5.0;
	b->listed_full = 5.0;
	CHECK_INT(itable_evictions_locked(it), 0);
	/* fill b past the cap: a's children are the oldest, so they go first */
	for (int i = 0; i < ITABLE_MAX_UNUSED; i++) {
		snprintf(name, sizeof(name), "y%06d", i);
		CHECK(add(it, b, name, 0) != NULL);
	}
	CHECK(itable_evictions_locked(it) >= 10);
	CHECK(a->listed_full == 0);
	n = 0;
	CHECK_INT(itable_children_locked(it, a, count_child, &n), 0);
	CHECK_INT(n, 0);
	itable_unlock(it);
	itable_free(it);
}

int main(void)
{
	T_RUN(test_keys);
	T_RUN(test_lifetime);
	T_RUN(test_type_change_and_move);
	T_RUN(test_unused_cap);
	T_RUN(test_children_and_evictions);
	return T_DONE();
}
