import { isListType, isNonNullType, isObjectType, type GraphQLType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../command-service/src/graphql/schema.ts';

// The one endpoint passes mutations to the command service unpriced, and the command service
// prices none either (graphql-limits.ts, `price: false`): that holds only while no field there
// returns a list, so that the shape limits (aliases, depth, tokens) bound what a request can ask.

const isList = (type: GraphQLType): boolean => isListType(isNonNullType(type) ? type.ofType : type);

describe('the command service schema', () => {
  it('has no list fields, so the shape limits bound the cost of any request to it', () => {
    const lists: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const [name, field] of Object.entries(type.getFields())) if (isList(field.type)) lists.push(`${type.name}.${name}`);
    }
    expect(lists).toEqual([]);
  });
});
