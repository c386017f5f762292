/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/list.h>, the circular doubly linked list.
 *
 * Written for the hosted build; it behaves as the kernel's list with
 * CONFIG_DEBUG_LIST (the debug test kernel's setting): adding and deleting
 * check the neighbours' links first and report corruption as a warning,
 * skipping the operation, and list_del() poisons the entry's links so a use
 * after deletion faults.
 */
#ifndef _HOSTED_LINUX_LIST_H
#define _HOSTED_LINUX_LIST_H

#include <stddef.h>
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/container_of.h>
#include <hosted/hosted.h>

/* Non-canonical addresses on x86-64: dereferencing them faults. */
#define LIST_POISON1	((struct list_head *)0xdead000000000100UL)
#define LIST_POISON2	((struct list_head *)0xdead000000000122UL)

#define LIST_HEAD_INIT(name)	{ &(name), &(name) }
#define LIST_HEAD(name)		struct list_head name = LIST_HEAD_INIT(name)

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

/* ---- debug checks (CONFIG_DEBUG_LIST) ---- */

static inline bool __list_add_valid(struct list_head *new,
				    struct list_head *prev,
				    struct list_head *next)
{
	if (next->prev != prev) {
		hosted_warn(__FILE__, __LINE__, __func__,
			    "list_add corruption. next->prev should be prev (%p), but was %p. (next=%p).",
			    (void *)prev, (void *)next->prev, (void *)next);
		return false;
	}
	if (prev->next != next) {
		hosted_warn(__FILE__, __LINE__, __func__,
			    "list_add corruption. prev->next should be next (%p), but was %p. (prev=%p).",
			    (void *)next, (void *)prev->next, (void *)prev);
		return false;
	}
	if (new == prev || new == next) {
		hosted_warn(__FILE__, __LINE__, __func__,
			    "list_add double add: new=%p, prev=%p, next=%p.",
			    (void *)new, (void *)prev, (void *)next);
		return false;
	}
	return true;
}

static inline bool __list_del_entry_valid(struct list_head *entry)
{
	struct list_head *prev = entry->prev, *next = entry->next;

	if (next == LIST_POISON1 || prev == LIST_POISON2) {
		hosted_warn(__FILE__, __LINE__, __func__,
			    "list_del corruption, %p->%s is LIST_POISON (deleted twice?)",
			    (void *)entry, next == LIST_POISON1 ? "next" : "prev");
		return false;
	}
	if (prev->next != entry) {
		hosted_warn(__FILE__, __LINE__, __func__,
			    "list_del corruption. prev->next should be %p, but was %p. (prev=%p)",
			    (void *)entry, (void *)prev->next, (void *)prev);
		return false;
	}
	if (next->prev != entry) {
		hosted_warn(__FILE__, __LINE__, __func__,
			    "list_del corruption. next->prev should be %p, but was %p. (next=%p)",
			    (void *)entry, (void *)next->prev, (void *)next);
		return false;
	}
	return true;
}

/* ---- adding and removing ---- */

static inline void __list_add(struct list_head *new, struct list_head *prev,
			      struct list_head *next)
{
	if (!__list_add_valid(new, prev, next))
		return;
	next->prev = new;
	new->next = next;
	new->prev = prev;
	prev->next = new;
}

/* Insert @new right after @head (a stack push). */
static inline void list_add(struct list_head *new, struct list_head *head)
{
	__list_add(new, head, head->next);
}

/* Insert @new right before @head, i.e. at the tail (a queue). */
static inline void list_add_tail(struct list_head *new, struct list_head *head)
{
	__list_add(new, head->prev, head);
}

static inline void __list_del(struct list_head *prev, struct list_head *next)
{
	next->prev = prev;
	prev->next = next;
}

static inline bool __list_del_entry(struct list_head *entry)
{
	if (!__list_del_entry_valid(entry))
		return false;
	__list_del(entry->prev, entry->next);
	return true;
}

/* Unlink @entry; its links are poisoned and it is on no list. */
static inline void list_del(struct list_head *entry)
{
	if (!__list_del_entry(entry))
		return;
	entry->next = LIST_POISON1;
	entry->prev = LIST_POISON2;
}

/* Unlink @entry and make it an empty list of its own. */
static inline void list_del_init(struct list_head *entry)
{
	if (__list_del_entry(entry))
		INIT_LIST_HEAD(entry);
}

/* Put @new where @old was; @old's links are left as they were. */
static inline void list_replace(struct list_head *old, struct list_head *new)
{
	new->next = old->next;
	new->next->prev = new;
	new->prev = old->prev;
	new->prev->next = new;
}

static inline void list_replace_init(struct list_head *old,
				     struct list_head *new)
{
	list_replace(old, new);
	INIT_LIST_HEAD(old);
}

/* Unlink @entry and add it after @head. */
static inline void list_move(struct list_head *entry, struct list_head *head)
{
	if (__list_del_entry(entry))
		list_add(entry, head);
}

/* Unlink @entry and add it before @head (at the tail). */
static inline void list_move_tail(struct list_head *entry,
				  struct list_head *head)
{
	if (__list_del_entry(entry))
		list_add_tail(entry, head);
}

/* ---- questions ---- */

static inline bool list_is_first(const struct list_head *entry,
				 const struct list_head *head)
{
	return entry->prev == head;
}

static inline bool list_is_last(const struct list_head *entry,
				const struct list_head *head)
{
	return entry->next == head;
}

static inline bool list_is_head(const struct list_head *entry,
				const struct list_head *head)
{
	return entry == head;
}

static inline bool list_empty(const struct list_head *head)
{
	return READ_ONCE(head->next) == head;
}

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

/* ---- joining ---- */

static inline void __list_splice(const struct list_head *list,
				 struct list_head *prev,
				 struct list_head *next)
{
	struct list_head *first = list->next, *last = list->prev;

	first->prev = prev;
	prev->next = first;
	last->next = next;
	next->prev = last;
}

/* Move the entries of @list to the front of @head; @list is left stale. */
static inline void list_splice(const struct list_head *list,
			       struct list_head *head)
{
	if (!list_empty(list))
		__list_splice(list, head, head->next);
}

/* Move the entries of @list to the end of @head; @list is left stale. */
static inline void list_splice_tail(const struct list_head *list,
				    struct list_head *head)
{
	if (!list_empty(list))
		__list_splice(list, head->prev, head);
}

static inline void list_splice_init(struct list_head *list,
				    struct list_head *head)
{
	if (!list_empty(list)) {
		__list_splice(list, head, head->next);
		INIT_LIST_HEAD(list);
	}
}

static inline void list_splice_tail_init(struct list_head *list,
					 struct list_head *head)
{
	if (!list_empty(list)) {
		__list_splice(list, head->prev, head);
		INIT_LIST_HEAD(list);
	}
}

static inline size_t list_count_nodes(const struct list_head *head)
{
	const struct list_head *pos;
	size_t n = 0;

	for (pos = head->next; pos != head; pos = pos->next)
		n++;
	return n;
}

/* ---- entries and iteration ---- */

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(head, type, member) \
	list_entry((head)->next, type, member)
#define list_last_entry(head, type, member) \
	list_entry((head)->prev, type, member)
#define list_first_entry_or_null(head, type, member) ({			\
	struct list_head *__hosted_head = (head);			\
	struct list_head *__hosted_pos = READ_ONCE(__hosted_head->next); \
	__hosted_pos != __hosted_head ?					\
		list_entry(__hosted_pos, type, member) : NULL; })
#define list_next_entry(pos, member) \
	list_entry((pos)->member.next, typeof(*(pos)), member)
#define list_prev_entry(pos, member) \
	list_entry((pos)->member.prev, typeof(*(pos)), member)
#define list_entry_is_head(pos, head, member)	(&(pos)->member == (head))

#define list_for_each(pos, head) \
	for (pos = (head)->next; !list_is_head(pos, (head)); pos = pos->next)
#define list_for_each_prev(pos, head) \
	for (pos = (head)->prev; !list_is_head(pos, (head)); pos = pos->prev)
#define list_for_each_safe(pos, n, head)				\
	for (pos = (head)->next, n = pos->next;				\
	     !list_is_head(pos, (head)); pos = n, n = pos->next)

#define list_for_each_entry(pos, head, member)				\
	for (pos = list_first_entry(head, typeof(*pos), member);	\
	     !list_entry_is_head(pos, head, member);			\
	     pos = list_next_entry(pos, member))
#define list_for_each_entry_reverse(pos, head, member)			\
	for (pos = list_last_entry(head, typeof(*pos), member);		\
	     !list_entry_is_head(pos, head, member);			\
	     pos = list_prev_entry(pos, member))
#define list_for_each_entry_continue(pos, head, member)			\
	for (pos = list_next_entry(pos, member);			\
	     !list_entry_is_head(pos, head, member);			\
	     pos = list_next_entry(pos, member))
#define list_for_each_entry_from(pos, head, member)			\
	for (; !list_entry_is_head(pos, head, member);			\
	     pos = list_next_entry(pos, member))
#define list_for_each_entry_safe(pos, n, head, member)			\
	for (pos = list_first_entry(head, typeof(*pos), member),	\
	     n = list_next_entry(pos, member);				\
	     !list_entry_is_head(pos, head, member);			\
	     pos = n, n = list_next_entry(n, member))

#endif /* _HOSTED_LINUX_LIST_H */
