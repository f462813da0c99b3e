// Which ids can be a file of the tasks folder: checked before a task is stored, so that a stored task
// always has a file name (else its mirror fails after the write, and start-up with it).

import { invalidField } from '../domain/errors.js';

/** File names are limited to 255 bytes on the common file systems (ext4, xfs, btrfs, APFS, NTFS). */
export const MAX_FILE_NAME_BYTES = 255;
const SUFFIX = '.json';
export const MAX_ID_BYTES = MAX_FILE_NAME_BYTES - SUFFIX.length;

/** Throws a 400 naming `field` for an id whose file `<id>.json` could not be written or would be hidden. */
export function checkFileSafeId(id: string, field = 'id'): void {
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_ID_BYTES) {
    throw invalidField(field, `must be at most ${MAX_ID_BYTES} bytes in UTF-8 (it is ${bytes}): it names the file <id>.json of the tasks folder`);
  }
  // Dot files are hidden, and the tasks folder ignores them (its own temporary files are dot files).
  if (id.startsWith('.')) throw invalidField(field, 'must not start with "."');
}

export function fileNameOf(id: string): string {
  return `${id}${SUFFIX}`;
}
