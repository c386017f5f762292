// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs: the heaps of the system, watched from outside their processes.
 *
 *   /sys/kernel/debug/gcheap/summary         one line per heap
 *   /sys/kernel/debug/gcheap/<pid>-<id>/memstats   Go's MemStats fields
 *   /sys/kernel/debug/gcheap/<pid>-<id>/classes    the size-class table
 *   /sys/kernel/debug/gcheap/<pid>-<id>/dump       a heap dump (GCHEAP_IOC_DUMP's
 *                                            format), made when opened
 *
 * Plain text, for root only (mode 0400). The numbers are read under the
 * heap's lock, as GCHEAP_IOC_STATS reads them; debugfs makes a heap's
 * removal wait for readers of its files.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include "gcheap_debugfs.h"
#include "mheap/mheap.h"
#include "mgc/mgc.h"

static struct dentry *gcheap_debugfs_root;

/**
 * struct debugfs_dump - an open dump file
 * @buf: the dump
 * @len: its bytes
 */
struct debugfs_dump {
	void *buf;
	size_t len;
};

/* The heap's statistics, as GCHEAP_IOC_STATS gives them; NULL rows: none. */
static int debugfs_stats(struct mheap *h, struct gcheap_stats *st,
			 struct gcheap_class_stats *rows)
{
	memset(st, 0, sizeof(*st));
	return mheap_op_stats(h, st, rows, rows ? MHEAP_NUM_CLASSES : 0, NULL);
}

static u64 debugfs_last_pause(struct mheap *h)
{
	u64 ns;

	mheap_lock(h);
	ns = h->gc.num_gc ?
	     h->gc.pause_ns[(h->gc.num_gc - 1) % GCHEAP_NUM_PAUSES] : 0;
	mutex_unlock(&h->lock);
	return ns;
}

static int memstats_show(struct seq_file *m, void *unused)
{
	struct gcheap_heap_info *hi = m->private;
	struct mheap *h = hi->mh;
	struct gcheap_stats st;
	u64 cpu_permille;

	debugfs_stats(h, &st, NULL);
	cpu_permille = mgc_cpu_share(st.gc_cpu_ns, st.age_ns, 1000);
	seq_printf(m, "Pid %d\nHeap %u\n", hi->pid, h->id);
	seq_printf(m, "Alloc %llu\nTotalAlloc %llu\nSys %llu\n", st.heap_alloc,
		   st.total_alloc, st.heap_sys);
	seq_printf(m, "Mallocs %llu\nFrees %llu\n", st.mallocs, st.frees);
	seq_printf(m, "HeapAlloc %llu\nHeapSys %llu\nHeapIdle %llu\nHeapInuse %llu\nHeapReleased %llu\nHeapObjects %llu\n",
		   st.heap_alloc, st.heap_sys, st.heap_idle, st.heap_inuse,
		   st.heap_released, st.heap_objects);
	seq_printf(m, "NextGC %llu\nLastGC %llu\nPauseTotalNs %llu\nLastPauseNs %llu\nNumGC %llu\n",
		   st.next_gc, st.last_gc, st.pause_total_ns,
		   debugfs_last_pause(h), st.num_gc);
	seq_printf(m, "GCCPUFraction %llu.%03llu\n", cpu_permille / 1000,
		   cpu_permille % 1000);
	seq_printf(m, "Resident %llu\nCachedSpans %llu\nSoftLimit %llu\nHardLimit %llu\n",
		   st.resident, st.cached_spans, st.soft_limit, st.hard_limit);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(memstats);

static int classes_show(struct seq_file *m, void *unused)
{
	struct gcheap_heap_info *hi = m->private;
	struct gcheap_class_stats *rows;
	struct gcheap_stats st;
	unsigned int i;
	int ret;

	rows = kcalloc(MHEAP_NUM_CLASSES, sizeof(*rows), GFP_KERNEL);
	if (!rows)
		return -ENOMEM;
	ret = debugfs_stats(hi->mh, &st, rows);
	if (!ret) {
		seq_puts(m, "class size mallocs frees spans bytes_inuse\n");
		/* Class 0: objects on spans of their own, any size. */
		for (i = 0; i < MHEAP_NUM_CLASSES; i++)
			seq_printf(m, "%u %u %llu %llu %llu %llu\n", i,
				   rows[i].elemsize, rows[i].mallocs,
				   rows[i].frees, rows[i].spans,
				   rows[i].bytes_inuse);
	}
	kfree(rows);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(classes);

static void summary_line(struct gcheap_heap_info *hi, void *arg)
{
	struct seq_file *m = arg;
	struct gcheap_stats st;
	u64 live;

	debugfs_stats(hi->mh, &st, NULL);
	mheap_lock(hi->mh);
	live = hi->mh->gc.heap_live;
	mutex_unlock(&hi->mh->lock);
	seq_printf(m, "%d %u %llu %llu %llu %llu %llu %llu\n", hi->pid,
		   hi->mh->id, st.heap_sys - st.heap_released, st.heap_alloc,
		   live, st.num_gc, debugfs_last_pause(hi->mh),
		   mgc_cpu_share(st.gc_cpu_ns, st.age_ns, 1000));
}

/* A dump, made at open, so that reads see one snapshot. */
static int dump_open(struct inode *inode, struct file *file)
{
	struct gcheap_heap_info *hi = inode->i_private;
	struct debugfs_dump *d;
	int ret;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	ret = mgc_dump_alloc(hi->mh, 0, &d->buf, &d->len);
	if (ret) {
		kfree(d);
		return ret;
	}
	file->private_data = d;
	return nonseekable_open(inode, file);
}

static ssize_t dump_read(struct file *file, char __user *ubuf, size_t count,
			 loff_t *ppos)
{
	struct debugfs_dump *d = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, d->buf, d->len);
}

static int dump_release(struct inode *inode, struct file *file)
{
	struct debugfs_dump *d = file->private_data;

	kvfree(d->buf);
	kfree(d);
	return 0;
}

static const struct file_operations dump_fops = {
	.owner = THIS_MODULE,
	.open = dump_open,
	.read = dump_read,
	.release = dump_release,
	.llseek = no_llseek,
};

/*
 * summary: a header, then per heap: pid, heap number, bytes held (spans in
 * use and idle memory not given back), bytes allocated, bytes live after
 * the last collection, collections, the last pause, GC CPU in permille.
 */
static int summary_show(struct seq_file *m, void *unused)
{
	seq_puts(m, "pid heap held alloc live num_gc last_pause_ns gc_cpu_permille\n");
	gcheap_heaps_each(summary_line, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(summary);

/**
 * gcheap_debugfs_heap_add() - a heap's directory
 * @hi: the heap; @hi->dir is set (an error pointer if debugfs has none)
 */
void gcheap_debugfs_heap_add(struct gcheap_heap_info *hi)
{
	char name[32];

	snprintf(name, sizeof(name), "%d-%u", hi->pid, hi->mh->id);
	hi->dir = debugfs_create_dir(name, gcheap_debugfs_root);
	debugfs_create_file("memstats", 0400, hi->dir, hi, &memstats_fops);
	debugfs_create_file("classes", 0400, hi->dir, hi, &classes_fops);
	debugfs_create_file("dump", 0400, hi->dir, hi, &dump_fops);
}

/**
 * gcheap_debugfs_heap_remove() - the heap goes: its directory first, once
 *	no reader is in one of its files
 * @hi: the heap
 */
void gcheap_debugfs_heap_remove(struct gcheap_heap_info *hi)
{
	debugfs_remove(hi->dir);
	hi->dir = NULL;
}

void gcheap_debugfs_init(void)
{
	gcheap_debugfs_root = debugfs_create_dir("gcheap", NULL);
	debugfs_create_file("summary", 0400, gcheap_debugfs_root, NULL,
			    &summary_fops);
}

void gcheap_debugfs_exit(void)
{
	debugfs_remove(gcheap_debugfs_root);
}
