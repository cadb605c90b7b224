import { infraUp, stopStartedContainers } from '@chat/infra';

// Integration tests need the real infrastructure: bring it up (idempotent) before any file
// runs, printing which path each component took (given, reused, testcontainers or native).
// When it cannot come up, this throws and every integration test fails; none skips.
export default async function setup(): Promise<() => Promise<void>> {
  await infraUp();
  return stopStartedContainers;
}
