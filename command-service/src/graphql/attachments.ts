import type { UploadTicket } from '../app/attachments.ts';
import { isCaller } from '../app/identity.ts';
import { commandError } from '../domain/errors.ts';
import { builder, resultUnion } from './builder.ts';

// Uploads: a client asks for one, PUTs its bytes to the URL it gets, then names the upload in
// sendMessage(attachments:). See app/attachments.ts for the whole path.

const UploadTicketRef = builder.objectRef<UploadTicket>('UploadTicket').implement({
  description:
    'Where and how to upload one file: PUT exactly maxBytes bytes to url, with the header content-type: contentType, before expiresAt.',
  fields: (t) => ({
    uploadId: t.exposeID('uploadId', { description: 'Name it in sendMessage(attachments:) once the PUT succeeded.' }),
    url: t.exposeString('url', { description: 'A presigned URL of the object store; no other credential is needed.' }),
    method: t.string({ resolve: () => 'PUT' }),
    contentType: t.exposeString('contentType', {
      description:
        'The content-type header the PUT must carry, as it is: it is signed (a field, not a list of headers: no field of the command side returns a list, so its requests need no pricing).',
    }),
    expiresAt: t.string({ description: 'ISO 8601.', resolve: (ticket) => new Date(ticket.expiresAt).toISOString() }),
    maxBytes: t.exposeInt('maxBytes', { description: 'The size asked for: the store refuses any other.' }),
  }),
});

builder.mutationFields((t) => ({
  requestUpload: t.field({
    type: resultUnion('RequestUpload', UploadTicketRef),
    description:
      'Asks to upload one file: a presigned PUT for exactly `size` bytes of `contentType`, valid a few minutes. The bytes are checked (their real type sniffed, images scaled and stripped of metadata) when a message names the upload; uploads no message names are removed after a grace period. Limits: ATTACHMENT_MAX_BYTES a file, ATTACHMENTS_PER_MESSAGE, UPLOADS_PER_USER_PER_DAY and UPLOAD_BYTES_PER_USER_PER_DAY (LIMIT_REACHED).',
    args: {
      name: t.arg.string({ required: true, description: 'The file name, for display and downloads.' }),
      size: t.arg.int({ required: true, description: 'Bytes.' }),
      contentType: t.arg.string({ required: true, description: 'The media type the client believes it has, or empty.' }),
    },
    resolve: async (_root, args, ctx) => {
      if (!isCaller(ctx.caller)) return ctx.caller;
      const limited = await ctx
        .commandLimit(ctx.caller.userId)
        .catch(() => commandError('UNAVAILABLE', 'cannot check rate limits right now; retry shortly'));
      if (limited) return limited;
      try {
        return await ctx.attachments.requestUpload(ctx.caller.userId, { name: args.name, size: args.size, contentType: args.contentType });
      } catch (error) {
        ctx.log.warn('cannot hand out an upload', { error });
        return commandError('UNAVAILABLE', 'uploads are unavailable right now; retry shortly');
      }
    },
  }),
}));
