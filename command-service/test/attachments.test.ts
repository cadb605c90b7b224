import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ATTACHMENT_LIMITS,
  UNKNOWN_TYPE,
  checkAttachmentCount,
  checkDailyUsage,
  checkUploadRequest,
  classify,
  uploadType,
} from '../src/domain/attachments.ts';

const limits = { ...DEFAULT_ATTACHMENT_LIMITS, maxFileBytes: 1000, perMessage: 2, uploadsPerUserPerDay: 3, bytesPerUserPerDay: 2500 };
const code = (result: unknown) => (result as { code?: string } | undefined)?.code;

describe('what may be uploaded', () => {
  it('takes a file name, a size within the limit and a media type or none', () => {
    expect(checkUploadRequest({ name: 'photo.jpg', size: 1000, contentType: 'image/jpeg' }, limits)).toBeUndefined();
    expect(checkUploadRequest({ name: 'notes', size: 1, contentType: '' }, limits)).toBeUndefined();
    expect(code(checkUploadRequest({ name: 'big.jpg', size: 1001, contentType: 'image/jpeg' }, limits))).toBe('LIMIT_REACHED');
    expect(code(checkUploadRequest({ name: 'empty', size: 0, contentType: '' }, limits))).toBe('INVALID_INPUT');
    expect(code(checkUploadRequest({ name: 'half', size: 1.5, contentType: '' }, limits))).toBe('INVALID_INPUT');
    expect(code(checkUploadRequest({ name: '../etc/passwd', size: 10, contentType: '' }, limits))).toBe('INVALID_INPUT');
    expect(code(checkUploadRequest({ name: 'a\u0000b', size: 10, contentType: '' }, limits))).toBe('INVALID_INPUT');
    expect(code(checkUploadRequest({ name: 'x'.repeat(256), size: 10, contentType: '' }, limits))).toBe('INVALID_INPUT');
    expect(code(checkUploadRequest({ name: 'a.png', size: 10, contentType: 'image/png; charset=x' }, limits))).toBe('INVALID_INPUT');
    expect(uploadType('')).toBe(UNKNOWN_TYPE);
    expect(uploadType('Image/PNG')).toBe('image/png');
  });

  it('counts a day of uploads, by number and by bytes', () => {
    expect(checkDailyUsage({ uploads: 2, bytes: 1000 }, 1000, limits)).toBeUndefined();
    expect(code(checkDailyUsage({ uploads: 3, bytes: 0 }, 1, limits))).toBe('LIMIT_REACHED');
    expect(code(checkDailyUsage({ uploads: 1, bytes: 2000 }, 501, limits))).toBe('LIMIT_REACHED');
  });

  it('bounds the files of one message, each named once', () => {
    expect(checkAttachmentCount(['a', 'b'], limits)).toBeUndefined();
    expect(code(checkAttachmentCount(['a', 'b', 'c'], limits))).toBe('LIMIT_REACHED');
    expect(code(checkAttachmentCount(['a', 'a'], limits))).toBe('INVALID_INPUT');
  });
});

describe('what the bytes are', () => {
  it('believes the bytes, not the name or the declared type', () => {
    expect(classify('image/png', 'image/png')).toEqual({ contentType: 'image/png', image: true });
    // Bytes of a PNG declared as something else are still a PNG.
    expect(classify('image/png', UNKNOWN_TYPE)).toEqual({ contentType: 'image/png', image: true });
    expect(classify('application/pdf', 'application/pdf')).toEqual({ contentType: 'application/pdf', image: false });
    expect(classify(undefined, 'text/plain')).toEqual({ contentType: UNKNOWN_TYPE, image: false });
  });

  it('refuses executables whatever they claim, and a picture that is not one', () => {
    expect(code(classify('application/x-msdownload', 'image/png'))).toBe('UPLOAD_REFUSED');
    expect(code(classify('application/x-elf', UNKNOWN_TYPE))).toBe('UPLOAD_REFUSED');
    expect(code(classify(undefined, 'image/jpeg'))).toBe('UPLOAD_REFUSED');
    expect(code(classify('application/pdf', 'image/webp'))).toBe('UPLOAD_REFUSED');
  });

  it('takes SVG and HTML as files, never as pictures', () => {
    expect(classify(undefined, 'image/svg+xml')).toEqual({ contentType: UNKNOWN_TYPE, image: false });
    expect(classify('application/xml', 'image/svg+xml')).toEqual({ contentType: 'application/xml', image: false });
  });
});
