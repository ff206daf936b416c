import { useState } from 'preact/hooks';
import { useAction } from '../hooks.js';
import { signIn } from '../session.js';
import { ErrorMessage, ScreenHeading } from '../ui.js';

/** The one place the secret is typed; it leaves the page with the sign-in request. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: () => void; notice?: string }) {
  const [secret, setSecret] = useState('');
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const session = await action.run(() => signIn(secret));
    setSecret('');
    if (session) onSignedIn();
  };
  return (
    <main class="sign-in" id="main">
      <ScreenHeading>audience-sync console</ScreenHeading>
      <p>Sign in with the marketing API secret your team set for this service.</p>
      {notice ? <p class="notice">{notice}</p> : null}
      <form onSubmit={submit}>
        {/* Lets password managers file the secret under this service. */}
        <input
          type="text"
          name="username"
          autocomplete="username"
          value="marketing"
          hidden
          readOnly
        />
        <label for="secret">Marketing API secret</label>
        <input
          id="secret"
          name="secret"
          type="password"
          autocomplete="current-password"
          required
          value={secret}
          onInput={(event) => setSecret(event.currentTarget.value)}
        />
        <button type="submit" disabled={action.busy}>
          Sign in
        </button>
      </form>
      <ErrorMessage message={action.error} />
    </main>
  );
}
