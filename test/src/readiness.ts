import type { Instance } from '@chat/infra';

/** One check's verdict (`ok` or `down`) in an instance's readiness answer, e.g. `event-log`. */
export async function readinessCheck(instance: Instance, check: string): Promise<string | undefined> {
  const response = await fetch(`${instance.baseUrl}/ready`);
  return ((await response.json()) as { checks: Record<string, string> }).checks[check];
}
