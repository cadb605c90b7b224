import { IMAGE_TYPES } from '@chat/schemas';
import { commandError, type CommandError } from './errors.ts';
import { checkText } from './validation.ts';

// What may be uploaded and attached, decided without I/O. The client's word (a file's name,
// size and type) only shapes the upload URL it is given; what is attached is what the store
// holds, as its bytes say (sniffed), checked again when a message references it.

export interface AttachmentLimits {
  /** Bytes of one file. */
  maxFileBytes: number;
  /** Files on one message. */
  perMessage: number;
  /** Uploads one user may ask for in 24 hours (used or not: each costs storage until swept). */
  uploadsPerUserPerDay: number;
  /** Bytes one user may ask to upload in 24 hours. */
  bytesPerUserPerDay: number;
}

export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxFileBytes: 25 * 1024 * 1024,
  perMessage: 10,
  uploadsPerUserPerDay: 500,
  bytesPerUserPerDay: 1024 * 1024 * 1024,
};

/** A file name is for display and for the download's name: one line, no path. */
export const FILE_NAME_MAX = 255;

/**
 * Types refused whatever they are called: programs a click could run. A chat is not a way to
 * hand someone an executable with a picture's name.
 */
const REFUSED_TYPES = new Set([
  'application/x-msdownload',
  'application/vnd.microsoft.portable-executable',
  'application/x-msi',
  'application/x-elf',
  'application/x-mach-binary',
  'application/x-executable',
  'application/x-sharedlib',
  'application/x-dex',
  'application/java-vm',
  'application/vnd.android.package-archive',
  'application/x-apple-diskimage',
]);

/** What is stored when the bytes match no known type: served only as a download. */
export const UNKNOWN_TYPE = 'application/octet-stream';

// type/subtype, as RFC 6838 allows them, without parameters.
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export interface UploadRequest {
  name: string;
  size: number;
  /** The type the client says it has ('' when it does not know). */
  contentType: string;
}

export function checkUploadRequest(request: UploadRequest, limits: AttachmentLimits): CommandError | undefined {
  const badName = checkText('name', request.name, { max: FILE_NAME_MAX });
  if (badName) return badName;
  if (/[/\\]/.test(request.name)) return commandError('INVALID_INPUT', 'name must be a file name, not a path');
  if (!Number.isSafeInteger(request.size) || request.size < 1)
    return commandError('INVALID_INPUT', 'size must be a number of bytes (1 or more)');
  if (request.size > limits.maxFileBytes) return commandError('LIMIT_REACHED', `a file is at most ${limits.maxFileBytes} bytes`);
  if (request.contentType !== '' && !MEDIA_TYPE.test(request.contentType)) {
    return commandError('INVALID_INPUT', 'contentType must be a media type such as image/png, or empty');
  }
  return undefined;
}

/** The type a new upload is signed for: the client's, lowercased, or the unknown type. */
export function uploadType(declared: string): string {
  return declared === '' ? UNKNOWN_TYPE : declared.toLowerCase();
}

/** What one user asked for in the last 24 hours, before this request. */
export interface DailyUsage {
  uploads: number;
  bytes: number;
}

export function checkDailyUsage(usage: DailyUsage, size: number, limits: AttachmentLimits): CommandError | undefined {
  if (usage.uploads + 1 > limits.uploadsPerUserPerDay) {
    return commandError('LIMIT_REACHED', `at most ${limits.uploadsPerUserPerDay} uploads a day; try again later`);
  }
  if (usage.bytes + size > limits.bytesPerUserPerDay) {
    return commandError('LIMIT_REACHED', `at most ${limits.bytesPerUserPerDay} bytes of uploads a day; try again later`);
  }
  return undefined;
}

export function checkAttachmentCount(uploadIds: readonly string[], limits: AttachmentLimits): CommandError | undefined {
  if (uploadIds.length > limits.perMessage) return commandError('LIMIT_REACHED', `a message has at most ${limits.perMessage} attachments`);
  if (new Set(uploadIds).size !== uploadIds.length) return commandError('INVALID_INPUT', 'an upload is attached twice');
  return undefined;
}

export type Sniffed = { contentType: string; image: boolean } | CommandError;

/**
 * What the bytes are, against what the upload said: `sniffedType` is the type the bytes show
 * (undefined when they match none), `declared` the type the upload was signed for.
 */
export function classify(sniffedType: string | undefined, declared: string): Sniffed {
  if (sniffedType && REFUSED_TYPES.has(sniffedType))
    return commandError('UPLOAD_REFUSED', `files of type ${sniffedType} cannot be attached`);
  const image = (IMAGE_TYPES as readonly string[]).includes(sniffedType ?? '');
  // A file that says it is a picture we show must be one: the client's word never reaches a
  // viewer. (Any other type, SVG included, is stored as its bytes say and served as a download.)
  if ((IMAGE_TYPES as readonly string[]).includes(declared) && !image) {
    return commandError('UPLOAD_REFUSED', `the file is not the image it claims to be (${sniffedType ?? 'unknown content'})`);
  }
  return { contentType: sniffedType ?? UNKNOWN_TYPE, image };
}
