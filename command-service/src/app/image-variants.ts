import sharp, { type Metadata } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

// An image's served sizes, made once when a message first references it: the original with its
// metadata (EXIF location, camera, XMP, IPTC) removed, a preview and a thumbnail, and a
// placeholder (ThumbHash) the client lays out with before anything loads.

export const PREVIEW_EDGE = 1280;
export const THUMBNAIL_EDGE = 320;
/** Pixels decoded at most (a decompression bomb is refused rather than expanded): 8,000 × 8,000. */
const MAX_PIXELS = 64_000_000;

export interface ImageVariants {
  /** The original as served: the uploaded bytes when they carry no metadata, else a re-encoding without it. */
  original: Buffer;
  preview: Buffer;
  thumbnail: Buffer;
  /** As shown (EXIF orientation applied). */
  width: number;
  height: number;
  /** ThumbHash, base64. */
  placeholder: string;
}

/** Undefined when the bytes do not decode as an image. */
export async function imageVariants(bytes: Buffer): Promise<ImageVariants | undefined> {
  const open = () => sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' });
  let meta: Metadata;
  try {
    meta = await open().metadata();
  } catch {
    return undefined;
  }
  if (!meta.width || !meta.height || !meta.format) return undefined;
  try {
    // Orientations 5-8 turn the image a quarter: width and height swap once applied.
    const turned = (meta.orientation ?? 1) >= 5;
    const width = turned ? meta.height : meta.width;
    const height = turned ? meta.width : meta.height;
    const carriesMetadata = Boolean(meta.exif || meta.xmp || meta.iptc || (meta.orientation ?? 1) !== 1);
    // sharp writes no metadata unless asked (withMetadata): rotate() bakes the orientation in.
    const original = carriesMetadata ? await open().rotate().toFormat(meta.format, { quality: 92 }).toBuffer() : bytes;
    const scaled = (edge: number, quality: number) =>
      open().rotate().resize(edge, edge, { fit: 'inside', withoutEnlargement: true }).webp({ quality }).toBuffer();
    const [preview, thumbnail, tiny] = await Promise.all([
      scaled(PREVIEW_EDGE, 82),
      scaled(THUMBNAIL_EDGE, 75),
      open().rotate().resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true }),
    ]);
    const hash = rgbaToThumbHash(tiny.info.width, tiny.info.height, tiny.data);
    return { original, preview, thumbnail, width, height, placeholder: Buffer.from(hash).toString('base64') };
  } catch {
    return undefined;
  }
}
