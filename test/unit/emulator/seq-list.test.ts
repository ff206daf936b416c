import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../emulator/common/random.js';
import { SeqList } from '../../../emulator/common/seq-list.js';

interface Item {
  readonly seq: number;
}

const items = (count: number): Item[] =>
  Array.from({ length: count }, (_, index) => ({ seq: index + 1 }));
const seqs = (list: readonly Item[]) => list.map((item) => item.seq);

/** The same items in a shuffled order that is the same on every run. */
function shuffled<T>(values: readonly T[], seed: number): T[] {
  const random = mulberry32(seed);
  const copy = [...values];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

/** Every item, newest first, read through pages of `limit` with `after` cursors. */
function pageThrough(list: SeqList<Item>, limit: number): { seqs: number[]; pages: number } {
  const found: number[] = [];
  let after: Item | undefined;
  let pages = 0;
  for (;;) {
    const page = list.page({ limit, ...(after ? { after } : {}) });
    if (!page) throw new Error('cursor not found');
    pages += 1;
    found.push(...seqs(page.items));
    after = page.items.at(-1);
    if (!page.hasMore) return { seqs: found, pages };
  }
}

describe('SeqList', () => {
  it('is empty at first', () => {
    const list = new SeqList<Item>();
    expect(list.size).toBe(0);
    expect(list.page({ limit: 10 })).toEqual({ items: [], hasMore: false });
    expect(list.slice(0, 10)).toEqual([]);
  });

  it('pages newest first, with has_more until the oldest', () => {
    const list = new SeqList<Item>();
    const all = items(5);
    for (const item of all) list.insert(item);
    expect(list.size).toBe(5);
    const first = list.page({ limit: 2 });
    expect(first && { seqs: seqs(first.items), hasMore: first.hasMore }).toEqual({
      seqs: [5, 4],
      hasMore: true,
    });
    const second = list.page({ limit: 2, after: all[3] });
    expect(second && { seqs: seqs(second.items), hasMore: second.hasMore }).toEqual({
      seqs: [3, 2],
      hasMore: true,
    });
    const last = list.page({ limit: 2, after: all[1] });
    expect(last && { seqs: seqs(last.items), hasMore: last.hasMore }).toEqual({
      seqs: [1],
      hasMore: false,
    });
    const exact = list.page({ limit: 5 });
    expect(exact?.hasMore).toBe(false);
    expect(seqs(list.page({ limit: undefined })?.items ?? [])).toEqual([5, 4, 3, 2, 1]);
  });

  it('pages newer than a cursor as the page just before it, newest first', () => {
    const list = new SeqList<Item>();
    const all = items(6);
    for (const item of all) list.insert(item);
    const newer = list.page({ limit: 2, before: all[1] });
    expect(newer && { seqs: seqs(newer.items), hasMore: newer.hasMore }).toEqual({
      seqs: [4, 3],
      hasMore: true,
    });
    const newest = list.page({ limit: 10, before: all[3] });
    expect(newest && { seqs: seqs(newest.items), hasMore: newest.hasMore }).toEqual({
      seqs: [6, 5],
      hasMore: false,
    });
    expect(list.page({ limit: 10, before: all[5] })).toEqual({ items: [], hasMore: false });
  });

  it('answers undefined for a cursor that is not in the list', () => {
    const list = new SeqList<Item>();
    for (const item of items(3)) list.insert(item);
    const stranger = { seq: 2 };
    expect(list.page({ limit: 10, after: stranger })).toBeUndefined();
    expect(list.page({ limit: 10, before: stranger })).toBeUndefined();
    expect(list.has(stranger)).toBe(false);
    expect(list.remove(stranger)).toBe(false);
    expect(list.size).toBe(3);
  });

  it('inserts an item once, however often it is inserted', () => {
    const list = new SeqList<Item>();
    const all = items(3);
    for (const item of [...all, all[0] as Item, all[1] as Item]) list.insert(item);
    expect(list.size).toBe(3);
    expect(seqs(list.slice(0, 10))).toEqual([1, 2, 3]);
  });

  it('keeps thousands of items in seq order whatever the insertion order', () => {
    const all = items(3_000);
    const list = new SeqList<Item>();
    for (const item of shuffled(all, 42)) list.insert(item);
    expect(list.size).toBe(3_000);
    expect(seqs(list.slice(0, 3_000))).toEqual(seqs(all));
    const paged = pageThrough(list, 100);
    expect(paged.pages).toBe(30);
    expect(paged.seqs).toEqual(seqs(all).reverse());
  });

  it('pages across block boundaries both ways', () => {
    const all = items(2_500);
    const list = new SeqList<Item>();
    for (const item of all) list.insert(item);
    expect(seqs(list.page({ limit: 3, after: all[1025] })?.items ?? [])).toEqual([
      1025, 1024, 1023,
    ]);
    expect(seqs(list.page({ limit: 3, before: all[1022] })?.items ?? [])).toEqual([
      1026, 1025, 1024,
    ]);
    expect(pageThrough(list, 7).seqs).toEqual(seqs(all).reverse());
  });

  it('removes items anywhere, and forgets them', () => {
    const all = items(1_500);
    const list = new SeqList<Item>();
    for (const item of shuffled(all, 7)) list.insert(item);
    const removed = all.filter((item) => item.seq % 3 === 0);
    for (const item of removed) expect(list.remove(item)).toBe(true);
    expect(list.size).toBe(1_000);
    expect(list.has(all[2] as Item)).toBe(false);
    expect(list.has(all[3] as Item)).toBe(true);
    const kept = seqs(all).filter((seq) => seq % 3 !== 0);
    expect(seqs(list.slice(0, 2_000))).toEqual(kept);
    expect(pageThrough(list, 100).seqs).toEqual([...kept].reverse());
    for (const item of all) list.remove(item);
    expect(list.size).toBe(0);
    expect(list.page({ limit: 10 })).toEqual({ items: [], hasMore: false });
  });

  it('slices oldest first by offset, for the admin API', () => {
    const list = new SeqList<Item>();
    for (const item of items(1_200)) list.insert(item);
    expect(seqs(list.slice(0, 3))).toEqual([1, 2, 3]);
    expect(seqs(list.slice(1_022, 4))).toEqual([1023, 1024, 1025, 1026]);
    expect(seqs(list.slice(1_198, 10))).toEqual([1199, 1200]);
    expect(list.slice(1_200, 10)).toEqual([]);
  });

  it('empties on clear', () => {
    const list = new SeqList<Item>();
    const all = items(10);
    for (const item of all) list.insert(item);
    list.clear();
    expect(list.size).toBe(0);
    expect(list.has(all[0] as Item)).toBe(false);
    list.insert(all[4] as Item);
    expect(seqs(list.slice(0, 10))).toEqual([5]);
  });
});
