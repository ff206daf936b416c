import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_BYTES = 24;
/** Random bytes drawn 4 096 ids at a time: one system call per id would dominate a big seed. */
const POOL_BYTES = ID_BYTES * 4096;
let pool = randomBytes(POOL_BYTES);
let offset = 0;

/** An id shaped like Loops' (cuid: `c` and 24 lowercase letters or digits). */
export function newLoopsId(): string {
  if (offset + ID_BYTES > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  let id = 'c';
  for (let index = offset; index < offset + ID_BYTES; index += 1) {
    id += ALPHABET[(pool[index] ?? 0) % ALPHABET.length];
  }
  offset += ID_BYTES;
  return id;
}
