import { commandError, type CommandError } from '../domain/errors.ts';
import { checkId } from '../domain/validation.ts';

// Who is calling. Until sign-up and tokens land, the x-user-id header names the caller. Every
// instance authenticates from the caller's own headers, forwarded commands included, so an
// instance never has to trust another's word for who the caller is.

/** The request headers that carry the caller's identity, as forwarding passes them on. */
export const CREDENTIAL_HEADERS = ['x-user-id', 'authorization'] as const;

export function authenticate(headers: { get(name: string): string | null }): string | CommandError {
  const id = headers.get('x-user-id');
  if (id === null || id.trim() === '') return commandError('UNAUTHENTICATED', 'send the x-user-id header');
  return checkId('x-user-id', id) ?? id;
}
