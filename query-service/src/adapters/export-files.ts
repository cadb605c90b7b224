import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@chat/platform';
import type { DataExports } from '../app/data-export.ts';
import { EXPORTS_PATH } from '../graphql/data-export.ts';
import { admitFileCaller, refuse, type FileCaller } from './file-requests.ts';

// GET /exports/<id>: a data export's archive, to the user it belongs to only, with the same
// access token (and the same per-user rate limit) as any query. Always a download.

export interface ExportFileDeps extends FileCaller {
  exports: Pick<DataExports, 'open'>;
  log: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isExportRequest(req: IncomingMessage): boolean {
  return req.url?.startsWith(EXPORTS_PATH) ?? false;
}

export function serveExportFiles(deps: ExportFileDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) =>
    void serve(deps, req, res).catch((error: unknown) => {
      deps.log.warn('cannot serve a data export', { error });
      if (!res.headersSent) refuse(res, 503, 'UNAVAILABLE', 'the export cannot be read right now; retry shortly');
      else res.destroy();
    });
}

async function serve(deps: ExportFileDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET') {
    res.setHeader('allow', 'GET');
    return refuse(res, 405, 'METHOD_NOT_ALLOWED', 'GET');
  }
  const exportId = (req.url ?? '').split('?')[0]!.slice(EXPORTS_PATH.length);
  if (!UUID.test(exportId)) return refuse(res, 404, 'NOT_FOUND', 'no such export');
  const userId = await admitFileCaller(deps, req, res);
  if (userId === undefined) return;
  // Another user's export id answers as one that does not exist.
  const archive = await deps.exports.open(userId, exportId);
  if (!archive) return refuse(res, 404, 'NOT_FOUND', 'no such export');
  res.writeHead(200, {
    'content-type': 'application/gzip',
    'content-disposition': 'attachment; filename="chat-export.json.gz"',
    'x-content-type-options': 'nosniff',
    'cache-control': 'private, no-store',
  });
  await pipeline(archive, res);
}
