import { infraUp } from '@chat/infra';

// Integration tests need the real infrastructure: bring it up (idempotent) before any file
// runs. When it cannot come up, this throws and every integration test fails; none skips.
export default async function setup(): Promise<void> {
  await infraUp();
}
