/** Anything with a creation sequence number: larger is newer. */
export interface Sequenced {
  readonly seq: number;
}

export interface PageRequest<T> {
  /** Items per page; everything when undefined. */
  limit: number | undefined;
  /** Return items older than this one. */
  after?: T;
  /** Return items newer than this one (the page just before it, newest first). */
  before?: T;
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

interface Position {
  block: number;
  index: number;
}

/** Items per block; blocks split at twice this size. */
const BLOCK = 512;

/**
 * Items kept sorted by `seq` in a list of small sorted blocks, so inserting or removing anywhere
 * touches one block (never the whole list), finding an item is two binary searches, and a page
 * costs O(log n + limit) however large the list grows.
 */
export class SeqList<T extends Sequenced> {
  private blocks: T[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  insert(item: T): void {
    const last = this.blocks[this.blocks.length - 1];
    const newest = last?.[last.length - 1];
    if (last && newest && newest.seq < item.seq && last.length < 2 * BLOCK) {
      last.push(item);
    } else {
      const at = this.locate(item.seq);
      if (this.itemAt(at) === item) return;
      const block = this.blocks[Math.min(at.block, this.blocks.length - 1)];
      if (!block) this.blocks.push([item]);
      else if (at.block === this.blocks.length) block.push(item);
      else block.splice(at.index, 0, item);
      this.split(Math.min(at.block, this.blocks.length - 1));
    }
    this.count += 1;
  }

  remove(item: T): boolean {
    const at = this.find(item);
    if (!at) return false;
    const block = this.blocks[at.block];
    block?.splice(at.index, 1);
    if (block?.length === 0) this.blocks.splice(at.block, 1);
    this.count -= 1;
    return true;
  }

  has(item: T): boolean {
    return this.find(item) !== undefined;
  }

  /** Oldest first, for the admin API's offset paging. */
  slice(offset: number, limit: number): T[] {
    const found: T[] = [];
    let skip = offset;
    for (const block of this.blocks) {
      if (found.length >= limit) break;
      if (skip >= block.length) {
        skip -= block.length;
        continue;
      }
      found.push(...block.slice(skip, skip + limit - found.length));
      skip = 0;
    }
    return found;
  }

  clear(): void {
    this.blocks = [];
    this.count = 0;
  }

  /** A newest-first page, or undefined when the cursor item is not in this list. */
  page(request: PageRequest<T>): Page<T> | undefined {
    const limit = request.limit ?? Number.POSITIVE_INFINITY;
    if (request.before) {
      const cursor = this.find(request.before);
      if (!cursor) return undefined;
      const { items, hasMore } = this.walk(cursor, 1, limit);
      return { items: items.reverse(), hasMore };
    }
    let start: Position = { block: this.blocks.length, index: 0 };
    if (request.after) {
      const cursor = this.find(request.after);
      if (!cursor) return undefined;
      start = cursor;
    }
    return this.walk(start, -1, limit);
  }

  /** Up to `limit` items next to `from` (excluded), stepping -1 (older) or +1 (newer). */
  private walk(from: Position, step: 1 | -1, limit: number): Page<T> {
    const items: T[] = [];
    let position: Position | undefined = this.next(from, step);
    while (position && items.length < limit) {
      const item = this.itemAt(position);
      if (item) items.push(item);
      position = this.next(position, step);
    }
    return { items, hasMore: position !== undefined };
  }

  private next({ block, index }: Position, step: 1 | -1): Position | undefined {
    if (step === 1) {
      if (index + 1 < (this.blocks[block]?.length ?? 0)) return { block, index: index + 1 };
      return block + 1 < this.blocks.length ? { block: block + 1, index: 0 } : undefined;
    }
    if (index > 0 && block < this.blocks.length) return { block, index: index - 1 };
    const previous = this.blocks[block - 1];
    return previous ? { block: block - 1, index: previous.length - 1 } : undefined;
  }

  private itemAt(position: Position): T | undefined {
    return this.blocks[position.block]?.[position.index];
  }

  private find(item: T): Position | undefined {
    const at = this.locate(item.seq);
    return this.itemAt(at) === item ? at : undefined;
  }

  /** The first position whose seq is ≥ `seq` (block = blocks.length when past the end). */
  private locate(seq: number): Position {
    let low = 0;
    let high = this.blocks.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const block = this.blocks[middle] ?? [];
      if ((block[block.length - 1]?.seq ?? Number.NEGATIVE_INFINITY) < seq) low = middle + 1;
      else high = middle;
    }
    const block = this.blocks[low];
    if (!block) return { block: this.blocks.length, index: 0 };
    let lowIndex = 0;
    let highIndex = block.length;
    while (lowIndex < highIndex) {
      const middle = (lowIndex + highIndex) >>> 1;
      if ((block[middle]?.seq ?? 0) < seq) lowIndex = middle + 1;
      else highIndex = middle;
    }
    return { block: low, index: lowIndex };
  }

  private split(blockIndex: number): void {
    const block = this.blocks[blockIndex];
    if (!block || block.length <= 2 * BLOCK) return;
    this.blocks.splice(blockIndex + 1, 0, block.splice(BLOCK));
  }
}
