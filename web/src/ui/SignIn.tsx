import { useMutation } from '@apollo/client/react';
import { ApolloClient, HttpLink } from '@apollo/client';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { toSession } from '../client/apollo.ts';
import { createCache } from '../client/cache.ts';
import { sessions } from '../client/session.ts';
import { LOG_IN, SIGN_UP } from '../graphql/operations.ts';
import { describeRefusal } from './hooks.ts';
import { Problem } from './Problem.tsx';

type Mode = 'log-in' | 'sign-up';

interface SignedOn {
  userId: string;
  username: string;
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
}

/**
 * The session for a sign-on code, or null when the server refuses it. A same-origin GET under
 * /auth, so the browser sends the HttpOnly cookie that binds the code to this browser (a code
 * from someone else's sign-on is refused); the tokens come back in the body, never in a URL.
 */
async function completeSignOn(code: string): Promise<SignedOn | null> {
  const response = await fetch(`/auth/oidc/complete?code=${encodeURIComponent(code)}`, { credentials: 'same-origin', cache: 'no-store' });
  return response.ok ? ((await response.json()) as SignedOn) : null;
}

/** Signing in before there is a session: a small client of its own, with no token and no socket. */
export function SignIn() {
  const anonymous = useMemo(() => new ApolloClient({ link: new HttpLink({ uri: '/graphql' }), cache: createCache() }), []);
  const [mode, setMode] = useState<Mode>('log-in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [signOn, setSignOn] = useState(false);
  const [signUp, signingUp] = useMutation(SIGN_UP, { client: anonymous });
  const [logIn, loggingIn] = useMutation(LOG_IN, { client: anonymous });
  // One id per attempt: a sign-up retried after a lost answer is recognised, not refused.
  const [signUpId] = useState(() => crypto.randomUUID());

  useEffect(() => {
    // Single sign-on is offered only where the platform has an identity provider.
    fetch('/auth/oidc/config')
      .then((response) => (response.ok ? response.json() : { enabled: false }))
      .then((config: { enabled?: boolean }) => setSignOn(config.enabled === true))
      .catch(() => setSignOn(false));
    // Back from the identity provider with a one-time code: trade it for a session.
    const url = new URL(location.href);
    const code = url.searchParams.get('sign_on_code');
    if (!code) return;
    url.searchParams.delete('sign_on_code');
    history.replaceState(null, '', url.href);
    void completeSignOn(code).then(
      (session) => (session ? sessions.save(toSession(session)) : setProblem('Single sign-on did not finish; try again.')),
      () => setProblem('Cannot reach the server; check your connection and try again.'),
    );
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      const result =
        mode === 'sign-up'
          ? (await signUp({ variables: { username, password, displayName: displayName || null, commandId: signUpId } })).data?.signUp
          : (await logIn({ variables: { username, password } })).data?.logIn;
      if (result?.__typename === 'Session') sessions.save(toSession(result));
      else if (result?.__typename === 'CommandError') setProblem(describeRefusal(result));
    } catch {
      setProblem('Cannot reach the server; check your connection and try again.');
    }
  }

  const busy = signingUp.loading || loggingIn.loading;
  return (
    <main className="sign-in">
      <h1>Chat</h1>
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">{mode === 'sign-up' ? 'Create an account' : 'Log in'}</h2>
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            required
            maxLength={32}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        {mode === 'sign-up' && (
          <label>
            Display name <span className="hint">(optional)</span>
            <input
              name="displayName"
              autoComplete="name"
              maxLength={64}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'sign-up' ? 'new-password' : 'current-password'}
            required
            minLength={mode === 'sign-up' ? 8 : undefined}
            maxLength={256}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <Problem text={problem} />
        <button type="submit" className="primary" disabled={busy}>
          {mode === 'sign-up' ? 'Sign up' : 'Log in'}
        </button>
        <button type="button" className="link" onClick={() => setMode(mode === 'sign-up' ? 'log-in' : 'sign-up')}>
          {mode === 'sign-up' ? 'I have an account: log in' : 'New here? Create an account'}
        </button>
        {signOn && (
          <a className="button" href={`/auth/oidc/start?return_to=${encodeURIComponent(`${location.origin}/`)}`}>
            Sign in with single sign-on
          </a>
        )}
      </form>
    </main>
  );
}
