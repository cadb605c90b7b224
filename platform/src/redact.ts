// Secrets out of what we write down: a URL's password (a database or Redis URL carries one)
// and the query parameters that are credentials (the OIDC callback's code and state, the
// sign-on code, tokens), wherever text may be logged or put on a span. Used by log.ts for
// every line, by env-schema.ts for configuration problems, and by the span processor of
// tracing-sdk.ts for URL attributes.

export const REDACTED = 'REDACTED';

/** Query parameters that are credentials, by name (case ignored): one list for URLs and for text. */
const SECRET_PARAMS =
  'code|state|sign_on_code|session_state|nonce|token|access_token|refresh_token|id_token|password|passwd|pwd|secret|client_secret|api_key|apikey|key|sig|signature';
const SECRET_PARAM = new RegExp(`^(?:${SECRET_PARAMS})$`, 'i');
// A URL with a scheme, up to whitespace, a quote or an angle bracket.
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
// A credential parameter outside a full URL ("/auth/oidc/callback?code=…", a bare query string).
const PARAM_IN_TEXT = new RegExp(`([?&;](?:${SECRET_PARAMS})=)[^&\\s"'#<>\`]*`, 'gi');
// userinfo of a URL the URL parser did not take: scheme://user:password@host
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/"'<>]*:)[^\s@/"'<>]*@/gi;

/** A URL with its password and credential parameters replaced; text that is no URL goes through redactText. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return redactText(raw);
  }
  if (url.password) url.password = REDACTED;
  for (const name of [...url.searchParams.keys()]) if (SECRET_PARAM.test(name)) url.searchParams.set(name, REDACTED);
  // Parameters in a fragment (an implicit flow's access_token) too.
  if (url.hash.includes('=')) {
    const fragment = new URLSearchParams(url.hash.slice(1));
    for (const name of [...fragment.keys()]) if (SECRET_PARAM.test(name)) fragment.set(name, REDACTED);
    url.hash = fragment.toString();
  }
  return url.toString();
}

/** Text with every URL in it redacted (redactUrl), and credential parameters outside URLs too. */
export function redactText(text: string): string {
  if (!text.includes('=') && !text.includes('@')) return text; // nothing that could hide a secret: the hot path
  return text
    .replace(URL_IN_TEXT, (url) => redactUrlInText(url))
    .replace(USERINFO, `$1${REDACTED}@`)
    .replace(PARAM_IN_TEXT, `$1${REDACTED}`);
}

/** A URL found in text: redacted, or as the text said it when nothing needed hiding (URL() would normalise it). */
function redactUrlInText(url: string): string {
  let normal: string;
  try {
    normal = new URL(url).toString();
  } catch {
    return url;
  }
  const redacted = redactUrl(url);
  return redacted === normal ? url : redacted;
}
