import { request } from 'node:http';

// Requests sent exactly as written: fetch() would resolve a path's dot segments before sending,
// which is the very thing a traversal test must not let it do.

/** GET `path` on `baseUrl`'s host, unnormalised; the status and the body as text. */
export function rawGet(baseUrl: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/`, { path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
