import { request } from 'node:http';
import { graphqlErrors } from './graphql.ts';

// GraphQL over HTTP from a chosen local address (any of 127.0.0.0/8 on this machine): a test
// plays several clients at several addresses through the one endpoint, which sees each
// connection's own peer, with no header that a client could forge.

/** One POST to `url` from `localAddress`; answers the result's data, or throws with the GraphQL errors' codes. */
export function gqlFrom<T = Record<string, any>>(
  localAddress: string,
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  accessToken?: string,
  headers: Record<string, string> = {},
): Promise<T> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            const result = JSON.parse(Buffer.concat(chunks).toString()) as {
              data?: T;
              errors?: { message: string; extensions?: { code?: string } }[];
            };
            if (result.errors?.length) reject(graphqlErrors(result.errors));
            else resolve(result.data as T);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
