import type { ExportJob } from '../app/data-export.ts';
import { builder, requireUser } from './builder.ts';

// exportMyData and the job behind it (app/data-export.ts): requested with a mutation, followed
// with myDataExport, downloaded from the one endpoint with the caller's token.

export const EXPORTS_PATH = '/exports/';

const ExportStatusEnum = builder.enumType('DataExportStatus', { values: ['RUNNING', 'READY', 'FAILED'] as const });

const DataExportRef = builder.objectRef<ExportJob>('DataExport').implement({
  description:
    'An archive of what the platform holds about you: your profile, your rooms, every message of yours that is not deleted (with its room and times) and your reactions, as gzipped JSON.',
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.field({ type: ExportStatusEnum, resolve: (job) => job.status }),
    done: t.exposeInt('done', { description: 'Parts written so far, out of total.' }),
    total: t.exposeInt('total'),
    requestedAt: t.string({ resolve: (job) => new Date(job.requestedAt).toISOString() }),
    readyAt: t.string({ nullable: true, resolve: (job) => (job.readyAt === null ? null : new Date(job.readyAt).toISOString()) }),
    expiresAt: t.string({ description: 'When the archive is removed.', resolve: (job) => new Date(job.expiresAt).toISOString() }),
    url: t.string({
      nullable: true,
      description: 'Once READY: a path of this endpoint; GET it with your `Authorization: Bearer` token.',
      resolve: (job) => (job.status === 'READY' ? `${EXPORTS_PATH}${job.id}` : null),
    }),
  }),
});

builder.queryFields((t) => ({
  myDataExport: t.field({
    type: DataExportRef,
    nullable: true,
    description: 'Your latest data export, while it lasts.',
    resolve: async (_root, _args, ctx) => (await ctx.exports.status(requireUser(ctx))) ?? null,
  }),
}));

builder.mutationFields((t) => ({
  exportMyData: t.field({
    type: DataExportRef,
    description:
      'Starts an export of your data, or answers the one under way or made within the last hour. Follow it with myDataExport until READY.',
    resolve: (_root, _args, ctx) => ctx.exports.request(requireUser(ctx)),
  }),
}));
