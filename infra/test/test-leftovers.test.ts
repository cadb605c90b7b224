import { describe, expect, it } from 'vitest';
import { testNameOf } from '../src/test-leftovers.ts';

// Which names are a test's, and when it made them: what the sweep before a run and the count
// after it go by.

describe('a test resource name', () => {
  const madeAt = Date.UTC(2026, 11, 5, 8, 0, 0);
  const time = madeAt.toString(36);

  it('is found in each kind of resource a stack makes, with its time', () => {
    const name = `t_web-client_${time}_2q0d`;
    for (const resource of [
      `${name}.chat.room-events`,
      `${name}.projector`,
      `${name}.chat.room-events-chat.events.MessageSent`,
      `${name}:limit:command:user:3d5d8e4d`,
      `${name}/uploads/0f6c2a9e-4b1d-4c7e-9a51-2d0c3b8e7f10`,
      name,
      `${name}_rm3`,
    ])
      expect(testNameOf(resource), resource).toEqual({ name, madeAt });
  });

  it('is found in the names tests make themselves, labels with underscores included', () => {
    expect(testNameOf(`t_token_cache_${time}:revoked:x`)).toEqual({ name: `t_token_cache_${time}`, madeAt });
    expect(testNameOf(`t_first_batch_${time}`)).toEqual({ name: `t_first_batch_${time}`, madeAt });
  });

  it('is not found in anything else', () => {
    for (const resource of ['chat.room-events', 'chat_rm2', 'apicurio', 't_', `x_label_${time}`, 't_label_untimed.chat.room-events'])
      expect(testNameOf(resource), resource).toBeUndefined();
  });
});
