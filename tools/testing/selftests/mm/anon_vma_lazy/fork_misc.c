// SPDX-License-Identifier: GPL-2.0
/*
 * fork_misc: forks of other kinds than fork_chain's trees keep anonymous
 * pages correctly shared, copied and reachable by rmap: fork then exec in
 * the child, vfork, fork of a multi-threaded process while another thread
 * faults, fork of pages pinned for DMA (copied at fork, never shared), of
 * a page swapped out and shared by more children than a swap map count
 * holds, and fork/fault/exit churn with the anon_vma and vm_area_struct
 * slab counts back at baseline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/kernel-page-flags.h>

#include "../../kselftest_harness.h"
#include "env.h"
#include "khealth.h"
#include "oracles.h"

#define WAIT_MS		30000

/*
 * io_uring without <linux/io_uring.h>: in a kernel tree whose headers are
 * not installed, the tools/include copy of it does not build against the
 * system's headers. A zeroed parameter block (larger than struct
 * io_uring_params) is a valid io_uring_setup() request, and these are the
 * io_uring_register() opcodes that register and drop fixed buffers.
 */
#define RING_REGISTER_BUFFERS	0
#define RING_UNREGISTER_BUFFERS	1
#define RING_PARAMS_SIZE	256
#define MISC_PAGES	16
#define EXEC_ENV	"AVL_FORK_MISC_EXEC_CHILD"

/*
 * The image a child execs (this binary again): it says it is running, so
 * its old mm is gone, and waits to be released. Runs before the harness.
 */
static void __attribute__((constructor)) exec_child_main(void)
{
	const char *env = getenv(EXEC_ENV);
	int ready_fd, release_fd;
	char byte = 'R';

	if (!env || sscanf(env, "%d,%d", &ready_fd, &release_fd) != 2)
		return;
	if (write(ready_fd, &byte, 1) != 1)
		_exit(1);
	/* EOF when the test closes its end or dies; then we are done. */
	struct pollfd pfd = { .fd = release_fd, .events = POLLIN };

	poll(&pfd, 1, 2 * WAIT_MS);
	_exit(0);
}

FIXTURE(fork_misc) {
	char *region;
	struct khealth health;
};

FIXTURE_SETUP(fork_misc)
{
	const char *missing = page_oracles_missing();
	int i;

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	self->region = mmap(NULL, MISC_PAGES * psize(),
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->region);
	madvise(self->region, MISC_PAGES * psize(), MADV_NOHUGEPAGE);
	for (i = 0; i < MISC_PAGES; i++) {
		struct page_tag tag = { .owner = 0, .index = i };

		tag_fill(self->region + i * psize(), psize(), &tag);
	}
	ASSERT_EQ(0, khealth_begin(&self->health, "fork_misc"));
}

FIXTURE_TEARDOWN(fork_misc)
{
	if (self->region && self->region != MAP_FAILED)
		munmap(self->region, MISC_PAGES * psize());
}

/* Contents, exclusive bit and map count of every page of our region. */
static int check_region(struct __test_metadata *_metadata, char *region,
			int mappers, const char *when)
{
	struct pagemap_entry e;
	bool want_exclusive = mappers == 1;
	struct page_tag found;
	__u64 count;
	int i, bad = 0;

	for (i = 0; i < MISC_PAGES; i++) {
		struct page_tag tag = { .owner = 0, .index = i };
		char *p = region + i * psize();

		if (tag_verify(p, psize(), &tag, &found)) {
			TH_LOG("%s: page %d: wrong contents", when, i);
			bad++;
		}
		if (pagemap_get(0, (unsigned long)p, &e) || !e.present ||
		    !e.pfn || e.file || e.exclusive != want_exclusive ||
		    kpagecount_get(e.pfn, &count) || count != (__u64)mappers) {
			TH_LOG("%s: page %d: present %d exclusive %d count %llu, want %d",
			       when, i, e.present, e.exclusive,
			       (unsigned long long)count, mappers);
			bad++;
		}
	}
	return bad;
}

static int wait_byte(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char byte;

	if (poll(&pfd, 1, timeout_ms) != 1 || read(fd, &byte, 1) != 1)
		return -1;
	return byte;
}

/*
 * Pipes to an exec child: only its ends (ready[1], release[0]) survive the
 * exec, so that closing release[1] here is an EOF there.
 */
static int exec_pipes(int ready[2], int release[2])
{
	if (pipe2(ready, O_CLOEXEC) || pipe2(release, O_CLOEXEC))
		return -1;
	if (fcntl(ready[1], F_SETFD, 0) || fcntl(release[0], F_SETFD, 0))
		return -1;
	return 0;
}

/* execve() this binary as an exec child talking over @ready and @release. */
static void exec_self(int ready_fd, int release_fd)
{
	char arg0[] = "fork_misc", env[64];
	char *argv[2], *envp[2];

	snprintf(env, sizeof(env), EXEC_ENV "=%d,%d", ready_fd, release_fd);
	argv[0] = arg0;
	envp[0] = env;
	argv[1] = NULL;
	envp[1] = NULL;
	execve("/proc/self/exe", argv, envp);
	_exit(127);
}

/*
 * Fork shares every page (map count 2); the child's exec drops its mm, so
 * the pages must be exclusive to the parent again, and a new fork must
 * share them again: the parent's upgraded anon_vma must still reach them.
 */
TEST_F(fork_misc, exec_in_child)
{
	int ready[2], release[2], go[2], status;
	pid_t pid, again;
	char report[2048];

	ASSERT_EQ(0, exec_pipes(ready, release));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Wait until the parent saw the shared pages, then exec. */
		if (wait_byte(go[0], WAIT_MS) < 0)
			_exit(1);
		exec_self(ready[1], release[0]);
	}
	close(ready[1]);
	close(release[0]);
	close(go[0]);

	EXPECT_EQ(0, check_region(_metadata, self->region, 2, "after fork"));
	ASSERT_EQ(1, write(go[1], "G", 1));
	ASSERT_EQ('R', wait_byte(ready[0], WAIT_MS)) TH_LOG("exec child not running");
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after exec in child"));

	again = fork();
	ASSERT_LE(0, again);
	if (again == 0) {
		/* Map count 2 while we live: the parent checks it. */
		pause();
		_exit(0);
	}
	EXPECT_EQ(0, check_region(_metadata, self->region, 2, "after second fork"));
	kill(again, SIGKILL);
	EXPECT_EQ(0, reap_with_deadline(again, WAIT_MS, &status));
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after second child exit"));

	close(release[1]);
	EXPECT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(ready[0]);
	close(go[1]);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* vfork shares the mm: no page is ever mapped twice, before or after exec. */
TEST_F(fork_misc, vfork_then_exec)
{
	int ready[2], release[2], status;
	char report[2048];
	pid_t pid;

	ASSERT_EQ(0, exec_pipes(ready, release));
	pid = vfork();
	if (pid == 0)
		exec_self(ready[1], release[0]);
	ASSERT_LE(0, pid);
	close(ready[1]);
	close(release[0]);
	ASSERT_EQ('R', wait_byte(ready[0], WAIT_MS)) TH_LOG("exec child not running");
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after vfork and exec"));
	close(release[1]);
	EXPECT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(ready[0]);
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after the child exited"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

#define PINNED		8	/* pages [0, PINNED) of the region */
#define PIN_MAX_PAGES	512	/* a PMD-sized THP of 4 kB pages */

/* What the child of a pinned fork saw of its pages. */
struct pinned_view {
	__u64 pfn[PIN_MAX_PAGES];
	bool exclusive[PIN_MAX_PAGES];
	int bad_contents;
};

/*
 * Pin [@p, @p + @len) for DMA as an io_uring fixed buffer (a FOLL_LONGTERM
 * pin) on the ring *@ring; NULL, or why not for a SKIP.
 */
static const char *pin_buffer(struct __test_metadata *_metadata, void *p,
			      size_t len, int *ring)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };
	__u64 params[RING_PARAMS_SIZE / sizeof(__u64)] = { 0 };

	if (kconfig_has("IO_URING") == 0)
		return "no io_uring (CONFIG_IO_URING)";
	*ring = syscall(__NR_io_uring_setup, 1, params);
	if (*ring < 0 && errno == EPERM)
		return "io_uring disabled (kernel.io_uring_disabled)";
	if (*ring < 0)
		return NULL;	/* the caller fails on it */
	if (syscall(__NR_io_uring_register, *ring, RING_REGISTER_BUFFERS,
		    &iov, 1)) {
		TH_LOG("registering the fixed buffer: %s", strerror(errno));
		close(*ring);
		*ring = -1;
	}
	return NULL;
}

/*
 * Fork with pages [0, @pinned) of @region (@pages pages, tagged { @owner, i })
 * pinned: the child must get copies of the pinned pages at once, its own
 * and exclusive, and share the others; the parent keeps its PFNs.
 */
static void fork_with_pinned(struct __test_metadata *_metadata, char *region,
			     int pages, int pinned, __u32 owner)
{
	static __u64 pfn[PIN_MAX_PAGES];
	struct pinned_view *child;
	struct pagemap_entry e;
	int go[2], ready[2], status, i;
	pid_t pid;

	for (i = 0; i < pages; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)region + i * psize(),
					 &e));
		pfn[i] = e.pfn;
	}
	child = shared_area(sizeof(*child));
	ASSERT_NE(NULL, child);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < pages; i++) {
			struct page_tag tag = { .owner = owner, .index = i };
			char *p = region + i * psize();

			child->bad_contents += !!tag_verify(p, psize(), &tag,
							    NULL);
			if (pagemap_get(0, (unsigned long)p, &e))
				_exit(1);
			child->pfn[i] = e.pfn;
			child->exclusive[i] = e.exclusive;
		}
		/* Sharing lasts until the parent has looked. */
		if (write(ready[1], "R", 1) != 1)
			_exit(1);
		wait_byte(go[0], WAIT_MS);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	ASSERT_EQ('R', wait_byte(ready[0], WAIT_MS)) TH_LOG("child not ready");
	close(ready[0]);
	for (i = 0; i < pages; i++) {
		bool is_pinned = i < pinned;

		ASSERT_EQ(0, pagemap_get(0, (unsigned long)region + i * psize(),
					 &e));
		EXPECT_EQ(pfn[i], e.pfn) TH_LOG("parent page %d moved", i);
		EXPECT_EQ(is_pinned, e.exclusive) TH_LOG("parent page %d", i);
		EXPECT_EQ(is_pinned, child->exclusive[i])
			TH_LOG("child page %d", i);
		EXPECT_EQ(is_pinned, child->pfn[i] != pfn[i])
			TH_LOG("page %d (pinned %d): parent %#llx, child %#llx",
			       i, is_pinned, (unsigned long long)pfn[i],
			       (unsigned long long)child->pfn[i]);
	}
	EXPECT_EQ(0, child->bad_contents);
	ASSERT_EQ(1, write(go[1], "G", 1));
	EXPECT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(go[1]);
	munmap(child, sizeof(*child));
}

/*
 * An anonymous page pinned for DMA (here: an io_uring fixed buffer, a
 * FOLL_LONGTERM pin) cannot be shared with a child by COW: the device may
 * write it behind the CPU's back. Fork copies such a page for the child at
 * once (copy_present_page()) and gives the child's copy its own rmap in
 * the child's VMA; the other pages are shared as usual.
 *
 *   parent [ P P P P P P P P | S S S S S S S S ]   P pinned, S not
 *   child  [ c c c c c c c c | S S S S S S S S ]   c: copies made at fork
 */
TEST_F(fork_misc, fork_copies_pinned_pages)
{
	char report[2048];
	const char *why;
	int ring;

	why = pin_buffer(_metadata, self->region, PINNED * psize(), &ring);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, ring) TH_LOG("io_uring_setup: %s", strerror(errno));
	fork_with_pinned(_metadata, self->region, MISC_PAGES, PINNED, 0);
	ASSERT_EQ(0, syscall(__NR_io_uring_register, ring,
			     RING_UNREGISTER_BUFFERS, NULL, 0));
	close(ring);
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after the child exited"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * The same with a pinned THP mapped by one PMD: fork cannot share the PMD
 * (copy_huge_pmd() gives up, splits it and lets the PTE copy run), and the
 * child gets a copy of every subpage.
 *
 *   parent [ T T ... T ]  pinned, PMD-mapped
 *   child  [ c c ... c ]  512 copies made at fork
 */
TEST_F(fork_misc, fork_copies_pinned_thp)
{
	unsigned long pmd = read_pmd_pagesize(), a;
	char *area, *thp, report[2048];
	struct pagemap_entry e;
	const char *why;
	int ring, i, pages;
	__u64 flags;

	if (!pmd || pmd / psize() > PIN_MAX_PAGES)
		SKIP(return, "no PMD-sized THP of at most %d pages", PIN_MAX_PAGES);
	pages = pmd / psize();
	area = reserve_range(2 * pmd);
	ASSERT_NE(NULL, area);
	a = ((unsigned long)area + pmd - 1) & ~(pmd - 1);
	thp = (char *)a;
	ASSERT_EQ(thp, mmap(thp, pmd, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	ASSERT_EQ(0, madvise(thp, pmd, MADV_HUGEPAGE));
	for (i = 0; i < pages; i++) {
		struct page_tag tag = { .owner = 3, .index = i };

		tag_fill(thp + i * psize(), psize(), &tag);
	}
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)thp, &e));
	if (kpageflags_get(e.pfn, &flags) || !kpf_has(flags, KPF_THP)) {
		munmap(area, 2 * pmd);
		SKIP(return, "no huge page could be allocated (THP off, or fragmented memory)");
	}
	why = pin_buffer(_metadata, thp, pmd, &ring);
	if (why) {
		munmap(area, 2 * pmd);
		SKIP(return, "%s", why);
	}
	ASSERT_LE(0, ring) TH_LOG("io_uring_setup: %s", strerror(errno));
	fork_with_pinned(_metadata, thp, pages, pages, 3);
	ASSERT_EQ(0, syscall(__NR_io_uring_register, ring,
			     RING_UNREGISTER_BUFFERS, NULL, 0));
	close(ring);
	munmap(area, 2 * pmd);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

#define RACE_REGIONS	1000

struct fault_race {
	char *base;			/* RACE_REGIONS slots of 2 pages */
	unsigned int published;		/* regions [0, published) are done */
};

/*
 * Fault one fresh VMA after another: each first fault is the moment a lazy
 * VMA gets its anon_vma state, under the per-VMA lock only, while the main
 * thread forks.
 */
static void *fault_thread(void *arg)
{
	struct fault_race *race = arg;
	unsigned int k;

	for (k = 0; k < RACE_REGIONS; k++) {
		char *p = race->base + 2 * k * psize();
		struct page_tag tag = { .owner = 1, .index = k };

		if (mmap(p, psize(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
			return (void *)1;
		tag_fill(p, psize(), &tag);
		__atomic_store_n(&race->published, k + 1, __ATOMIC_RELEASE);
		if (k % 8 == 0)
			usleep(100);
	}
	return NULL;
}

/* In a child: every region published before the fork is complete. */
static int race_child_verify(struct fault_race *race)
{
	unsigned int k, done = __atomic_load_n(&race->published, __ATOMIC_ACQUIRE);
	int bad = 0;

	for (k = 0; k < done; k++) {
		struct page_tag tag = { .owner = 1, .index = k };

		bad += !!tag_verify(race->base + 2 * k * psize(),
				    psize(), &tag, NULL);
	}
	return bad;
}

TEST_F_TIMEOUT(fork_misc, fork_while_thread_faults, 60)
{
	struct fault_race race = { 0 };
	struct pagemap_entry e;
	int status, children = 0, bad_children = 0, bad = 0, fork_errno = 0;
	unsigned int k;
	char report[2048];
	pthread_t thread;
	void *ret;
	__u64 count;
	pid_t pid;

	race.base = reserve_range(2 * RACE_REGIONS * psize());
	ASSERT_NE(NULL, race.base);
	ASSERT_EQ(0, pthread_create(&thread, NULL, fault_thread, &race));
	while (__atomic_load_n(&race.published, __ATOMIC_ACQUIRE) < RACE_REGIONS) {
		pid = fork();
		if (pid == 0)
			_exit(race_child_verify(&race) ? 1 : 0);
		if (pid < 0) {
			fork_errno = errno;
			break;
		}
		children++;
		if (reap_with_deadline(pid, WAIT_MS, &status) ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad_children++;
	}
	ASSERT_EQ(0, pthread_join(thread, &ret));
	ASSERT_EQ(NULL, ret);
	TH_LOG("%d children forked while %d VMAs were faulted", children,
	       RACE_REGIONS);
	/* A failed fork is a failure, and a race with no child proves nothing. */
	EXPECT_EQ(0, fork_errno);
	EXPECT_LT(0, children);
	EXPECT_EQ(0, bad_children);

	/* All children are gone: every page is ours alone. */
	for (k = 0; k < RACE_REGIONS; k++) {
		struct page_tag tag = { .owner = 1, .index = k };
		char *p = race.base + 2 * k * psize();

		if (tag_verify(p, psize(), &tag, NULL) ||
		    pagemap_get(0, (unsigned long)p, &e) || !e.pfn ||
		    !e.exclusive || kpagecount_get(e.pfn, &count) || count != 1)
			bad++;
	}
	EXPECT_EQ(0, bad);
	munmap(race.base, 2 * RACE_REGIONS * psize());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

#define CHURN_CYCLES		2000
#define CHURN_BUDGET_MS		8000
#define CHURN_TOLERANCE		256

/* One cycle: a child that faults, COW-writes, maybe forks, and exits. */
static int churn_cycle(char *region, int cycle)
{
	int status = 0;
	pid_t pid, grandchild;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *mine = mmap(NULL, 2 * psize(), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mine == MAP_FAILED)
			_exit(1);
		mine[0] = 1;
		region[(cycle % MISC_PAGES) * psize() + 64] ^= 1;
		if (cycle % 4 == 0) {
			grandchild = fork();
			if (grandchild == 0) {
				mine[psize()] = 2;
				_exit(0);
			}
			if (grandchild < 0 ||
			    reap_with_deadline(grandchild, WAIT_MS, &status))
				_exit(1);
		}
		_exit(0);
	}
	if (reap_with_deadline(pid, WAIT_MS, &status))
		return -ETIMEDOUT;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -ECHILD;
}

/*
 * Thousands of fork/fault/exit cycles must not leak an anon_vma, an
 * anon_vma_chain or a VMA (a VMA reference ANON_VMA_LAZY takes and never
 * drops, for example). Caches merged with others cannot be counted alone.
 */
TEST_F_TIMEOUT(fork_misc, churn_slab_counts, 60)
{
	struct slab_baseline base;
	char note[128], report[2048];
	long long deadline;
	int cycles;

	if (!slab_baseline_take(&base, note, sizeof(note)))
		SKIP(return, "%s", note);
	if (note[0])
		TH_LOG("%s", note);
	deadline = now_ms() + CHURN_BUDGET_MS;
	for (cycles = 0; cycles < CHURN_CYCLES && now_ms() < deadline; cycles++)
		ASSERT_EQ(0, churn_cycle(self->region, cycles));
	TH_LOG("%d fork/fault/exit cycles", cycles);
	EXPECT_EQ(0, slab_baseline_exceeded(&base, CHURN_TOLERANCE, report,
					    sizeof(report)))
		TH_LOG("%s", report);
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after churn"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_HARNESS_MAIN
