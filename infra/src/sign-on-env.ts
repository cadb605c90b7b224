// Single sign-on through the one origin: with OIDC_ISSUER set, the provider sends the browser
// back to the query service's /auth/oidc/callback (passed on to the command service), and the
// web client served there is where a sign-on may return to. Given values win.

/** `env` with OIDC_REDIRECT_URI and OIDC_RETURN_ORIGINS defaulted to the query service at `queryPort`. */
export function withSignOnDefaults(env: NodeJS.ProcessEnv, queryPort: number): NodeJS.ProcessEnv {
  if (!env.OIDC_ISSUER) return env;
  const origin = `http://127.0.0.1:${queryPort}`;
  return {
    ...env,
    OIDC_REDIRECT_URI: env.OIDC_REDIRECT_URI || `${origin}/auth/oidc/callback`,
    OIDC_RETURN_ORIGINS: env.OIDC_RETURN_ORIGINS || origin,
  };
}
