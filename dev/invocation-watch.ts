import { readFileSync } from 'node:fs';

/** A process and the parent it had when the watch began. */
interface Link {
  pid: number;
  parent: number;
}

/** The parent of a process from /proc, or undefined when it is gone (or there is no /proc). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (name) state ppid …": the name may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** True when the process was started by an npm script (npm passes its variables down). */
function runsAnNpmScript(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .some((entry) => entry.startsWith('npm_lifecycle_event='));
  } catch {
    return false;
  }
}

/**
 * This process and, under `npm run dev`, the ones npm put between itself and this one (its
 * shell, the TypeScript runner), each with its parent: npm itself is the last parent.
 */
export function invocationChain(): Link[] {
  const links: Link[] = [{ pid: process.pid, parent: process.ppid }];
  let current = process.ppid;
  while (current > 1 && runsAnNpmScript(current) && links.length < 16) {
    const parent = parentOf(current);
    if (parent === undefined) break;
    links.push({ pid: current, parent });
    current = parent;
  }
  return links;
}

/** A process whose parent died is given to another, so one changed link means someone died. */
export const chainIsBroken = (links: Link[]): boolean =>
  links.some((link) =>
    link.pid === process.pid ? process.ppid !== link.parent : parentOf(link.pid) !== link.parent,
  );

/**
 * Calls `onBroken` once when `npm run dev` (or whatever started this process directly) is gone,
 * killed outright with no signal passed on. Returns a function that stops the watch.
 */
export function watchInvocation(onBroken: () => void, intervalMs = 500): () => void {
  const links = invocationChain();
  const timer = setInterval(() => {
    if (!chainIsBroken(links)) return;
    clearInterval(timer);
    onBroken();
  }, intervalMs);
  // The watch never keeps the process alive by itself.
  timer.unref();
  return () => clearInterval(timer);
}
