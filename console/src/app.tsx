import { useEffect, useState } from 'preact/hooks';
import { onSignedOut } from './api.js';
import { links, parseRoute, type Route, useRoute } from './router.js';
import { ConsentScreen } from './screens/consent.js';
import { HealthScreen } from './screens/health.js';
import { NewSyncScreen } from './screens/new-sync.js';
import { RunScreen } from './screens/run.js';
import { RunsScreen } from './screens/runs.js';
import { SchedulesScreen } from './screens/schedules.js';
import { SignIn } from './screens/sign-in.js';
import { currentSession, signOut } from './session.js';

type SessionState = 'checking' | 'signed-in' | 'signed-out';

const NAV: { label: string; href: string; screens: Route['screen'][] }[] = [
  { label: 'Runs', href: links.runs, screens: ['runs', 'run'] },
  { label: 'New sync', href: links.newSync, screens: ['new'] },
  { label: 'Schedules', href: links.schedules, screens: ['schedules'] },
  { label: 'Consent', href: links.consent, screens: ['consent'] },
  { label: 'Health', href: links.health, screens: ['health'] },
];

const routeKey = (route: Route): string =>
  route.screen === 'run' ? `run:${route.runId}` : route.screen;

function Screen({ route }: { route: Route }) {
  switch (route.screen) {
    case 'run':
      return <RunScreen runId={route.runId} />;
    case 'new':
      return <NewSyncScreen />;
    case 'schedules':
      return <SchedulesScreen />;
    case 'consent':
      return <ConsentScreen />;
    case 'health':
      return <HealthScreen />;
    default:
      return <RunsScreen />;
  }
}

export function App() {
  const [session, setSession] = useState<SessionState>('checking');
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const route = useRoute();

  useEffect(() => {
    void currentSession().then((found) => setSession(found ? 'signed-in' : 'signed-out'));
    return onSignedOut(() => {
      setNotice('Your session has ended. Sign in again.');
      setSession('signed-out');
    });
  }, []);

  if (session === 'checking') return <p class="loading">Loading…</p>;
  if (session === 'signed-out') {
    return (
      <SignIn
        {...(notice ? { notice } : {})}
        onSignedIn={() => {
          setNotice(undefined);
          setSession('signed-in');
        }}
      />
    );
  }

  const leave = async () => {
    await signOut().catch(() => undefined);
    setNotice('You are signed out.');
    setSession('signed-out');
  };

  return (
    <>
      <button type="button" class="skip" onClick={skipToMain}>
        Skip to the screen
      </button>
      <header class="top">
        <p class="brand">audience-sync</p>
        <nav aria-label="Screens">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a
                  href={item.href}
                  onClick={() => {
                    // The screen already open: no route change, so move the focus here.
                    if (routeKey(parseRoute(item.href)) === routeKey(route)) skipToMain();
                  }}
                  {...(item.screens.includes(route.screen) ? { 'aria-current': 'page' } : {})}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={leave}>
          Sign out
        </button>
      </header>
      <main id="main">
        {/* A new screen for every address, so it loads afresh and its heading takes the focus. */}
        <Screen key={routeKey(route)} route={route} />
      </main>
    </>
  );
}

/** To the screen's heading: the skip button (a button, since the URL's fragment names the screen). */
function skipToMain() {
  document.querySelector<HTMLElement>('main h1')?.focus();
}
