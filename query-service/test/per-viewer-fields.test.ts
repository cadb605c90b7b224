import { isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/graphql/schema.ts';

// A subscription result is shared between subscribers unless it selects a field marked
// PER_VIEWER; a field that reads who is asking and is not marked would leak one caller's view
// (an unread count, "reacted by me") to every subscriber of the room. This keeps the marks honest.

const READS_CALLER = /requireUser\(|requireMember\(|standing\(|ctx\.caller|ctx\.unread/;

describe('fields that depend on the caller', () => {
  it('are marked PER_VIEWER wherever they are not a root field', () => {
    const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].map((t) => t?.name));
    const unmarked: string[] = [];
    const marked: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || roots.has(type.name)) continue;
      for (const field of Object.values(type.getFields())) {
        const readsCaller = READS_CALLER.test(String(field.resolve ?? ''));
        if (field.extensions.perViewer) marked.push(`${type.name}.${field.name}`);
        else if (readsCaller) unmarked.push(`${type.name}.${field.name}`);
      }
    }
    expect(unmarked).toEqual([]);
    expect(marked).toEqual(expect.arrayContaining(['Reaction.me', 'Room.unreadCount', 'Room.myRole']));
  });
});
