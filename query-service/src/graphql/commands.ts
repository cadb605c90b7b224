import { readFileSync } from 'node:fs';
import { GraphQLSchema, buildSchema } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { mergeSchemas } from '@graphql-tools/schema';

// One endpoint, one schema: this service's own (history, live state, subscriptions) merged with
// the command service's mutations. Those mutations are never executed here: a request whose
// operation is a mutation is passed to the command side as the caller wrote it and executed
// there, once (command-routing.ts). They are in this schema so that the endpoint describes them
// (introspection, the playground) and validates a socket's mutations like any operation.

/** What a mutation carries to the command service on the caller's behalf. */
export interface CommandCredentials {
  /** The caller's `Authorization` header, as they sent it (the command service checks it itself). */
  authorization: string | undefined;
  /** The caller's address: the command service's rate limits count per address (this service vouches for it, signed). */
  clientAddress: string;
}

// The command service's published SDL (kept fresh by the schema snapshot test) is the contract.
const COMMAND_SDL = new URL(import.meta.resolve('@chat/command-service/schema.graphql'));

/** The command service's mutations (from its SDL), each refusing to run here. Its Query (only `me`) stays behind. */
export function commandMutations(commandSdl = readFileSync(COMMAND_SDL, 'utf8')): GraphQLSchema {
  const mutation = buildSchema(commandSdl).getMutationType();
  for (const field of Object.values(mutation?.getFields() ?? {})) {
    // Routing takes every mutation before execution; reaching this would be a bug, not a null.
    field.resolve = () => {
      throw createGraphQLError('mutations run on the command side', { extensions: { code: 'INTERNAL' } });
    };
  }
  return new GraphQLSchema({ mutation });
}

/** The Mutation fields of `endpoint` (withCommandMutations' schema) that the command service serves: those `own` has not. */
export function commandMutationFields(endpoint: GraphQLSchema, own: GraphQLSchema): Set<string> {
  const ownFields = own.getMutationType()?.getFields() ?? {};
  return new Set(Object.keys(endpoint.getMutationType()?.getFields() ?? {}).filter((name) => !(name in ownFields)));
}

/** The schema the one endpoint serves: `own` plus the command service's mutations. */
export function withCommandMutations(own: GraphQLSchema, commandSdl?: string): GraphQLSchema {
  return mergeSchemas({ schemas: [own, commandMutations(commandSdl)] });
}
