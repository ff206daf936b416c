import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { countsInWords, type Progress, timeInWords } from './words.js';

/** An error from the API, read out when it appears. */
export function ErrorMessage({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

/** The screen's heading; it takes the focus when the screen opens, so readers hear where they are. */
export function ScreenHeading({ children }: { children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <h1 ref={heading} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function Time({ iso }: { iso: string | undefined | null }) {
  if (!iso) return <span>—</span>;
  return <time dateTime={iso}>{timeInWords(iso)}</time>;
}

const COUNT_NAMES = ['added', 'updated', 'skipped', 'failed', 'removed'] as const;

/** The counts as a list of numbers with their names, and how they add up. */
export function Counts({ progress, live = false }: { progress: Progress; live?: boolean }) {
  return (
    <div class="counts">
      <ul class="count-list">
        {COUNT_NAMES.map((name) => (
          <li key={name} class={`count count-${name}`}>
            <span class="count-number">{progress[name].toLocaleString('en-US')}</span>{' '}
            <span class="count-name">{name}</span>
          </li>
        ))}
      </ul>
      <div class="arithmetic" {...(live ? { 'aria-live': 'polite' } : {})}>
        {countsInWords(progress).map((sentence) => (
          <p key={sentence}>{sentence}</p>
        ))}
      </div>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

/** "Loading…" while the first answer is on its way; nothing once an error says why there is none. */
export function Loading({ loaded }: { loaded: { error: string | undefined } }) {
  return loaded.error ? null : <p>Loading…</p>;
}
