import { bearerToken, isRefusal, type AccessTokenVerifier, type Caller } from '@chat/platform';
import { commandError, type CommandError } from '../domain/errors.ts';

// Who is calling: the user and session of a verified access token. Every instance
// authenticates from the caller's own headers, forwarded commands included, so an instance
// never has to trust another's word for who the caller is.

/** The request headers that carry the caller's identity, as forwarding passes them on. */
export const CREDENTIAL_HEADERS = ['authorization'] as const;

export type Authenticate = (headers: { get(name: string): string | null }) => Promise<Caller | CommandError>;

export function authenticator(verifier: AccessTokenVerifier): Authenticate {
  return async (headers) => {
    let verdict;
    try {
      verdict = await verifier.verify(bearerToken(headers.get('authorization')));
    } catch {
      return commandError('UNAVAILABLE', 'cannot check sessions right now; retry shortly');
    }
    return isRefusal(verdict) ? commandError('UNAUTHENTICATED', verdict.message) : verdict;
  };
}

export function isCaller(value: Caller | CommandError): value is Caller {
  return 'userId' in value;
}
