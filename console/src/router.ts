import { useEffect, useState } from 'preact/hooks';

/** The console's screens, addressed by the URL's fragment so the API serves one page for all. */
export type Route =
  | { screen: 'runs' }
  | { screen: 'run'; runId: string }
  | { screen: 'new' }
  | { screen: 'schedules' }
  | { screen: 'consent' }
  | { screen: 'health' };

export const links = {
  runs: '#/runs',
  run: (runId: string) => `#/runs/${encodeURIComponent(runId)}`,
  newSync: '#/new',
  schedules: '#/schedules',
  consent: '#/consent',
  health: '#/health',
};

export function parseRoute(hash: string): Route {
  const [, first, second] = hash.replace(/^#/, '').split('/');
  switch (first) {
    case 'runs':
      return second ? { screen: 'run', runId: decodeURIComponent(second) } : { screen: 'runs' };
    case 'new':
      return { screen: 'new' };
    case 'schedules':
      return { screen: 'schedules' };
    case 'consent':
      return { screen: 'consent' };
    case 'health':
      return { screen: 'health' };
    default:
      return { screen: 'runs' };
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const follow = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  return route;
}

export function go(link: string): void {
  location.hash = link;
}
