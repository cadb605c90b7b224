import { InstanceAuth } from '@chat/platform';

// Benchmarks that send straight to the command service (leaving the one endpoint's proxying out
// of what they measure) sign each request as an instance, as the one endpoint does, with the
// secret startStack put in this process's environment.

let auth: InstanceAuth | undefined;

/** The headers that make a POST of `body` to `url` an instance's call. */
export function instanceHeaders(url: URL, body: string): Record<string, string> {
  auth ??= new InstanceAuth(process.env.INTERNAL_SECRET ?? '', `bench@${process.pid}`);
  return auth.sign({ method: 'POST', path: `${url.pathname}${url.search}`, body });
}
