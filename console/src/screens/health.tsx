import { call } from '../api.js';
import { type HealthAnswer, type HealthPart, healthInWords } from '../health-words.js';
import { useLoad } from '../hooks.js';
import { ErrorMessage, Loading, ScreenHeading } from '../ui.js';

const REFRESH_MS = 10_000;

/** The badge colours of the run states, reused. */
const BADGES: Record<HealthPart['state'], string> = {
  working: 'completed',
  'needs attention': 'failed',
  'not checked yet': 'paused',
};

export function HealthScreen() {
  const health = useLoad(
    (signal) => call<HealthAnswer>('GET', '/api/marketing/health', { signal }),
    'health',
    { refreshMs: () => REFRESH_MS },
  );
  return (
    <>
      <ScreenHeading>Health</ScreenHeading>
      <p>Whether the parts this service needs are working, checked every few seconds.</p>
      <ErrorMessage message={health.error} />
      {health.value ? (
        <ul class="cards" aria-label="Health">
          {healthInWords(health.value).map((part) => (
            <li key={part.name} class="card">
              <h2 class="card-title">
                {part.name} <span class={`badge badge-${BADGES[part.state]}`}>{part.state}</span>
              </h2>
              <ul>
                {part.lines.map((line) => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      ) : (
        <Loading loaded={health} />
      )}
    </>
  );
}
