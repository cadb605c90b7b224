// Extra environment for the services of a bench's stack, from STACK_ENV as comma-separated
// NAME=value pairs: to look closer at a run without editing the bench, e.g.
// STACK_ENV='LOG_LEVEL=debug' or STACK_ENV='NODE_OPTIONS=--cpu-prof --cpu-prof-dir=/tmp/prof'.

export function stackEnvFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    (env.STACK_ENV ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}
