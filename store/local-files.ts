/** Writing downloads to local disk: atomically, and never outside the directory asked for. */
import { randomUUID } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ManifestError } from './errors.js';
import { assertMemberName } from './manifest.js';

/**
 * Where bundle member `name` goes under directory `root` (a real path): never outside it, also
 * not through a symbolic link already in the directory. The manifest's names were validated on
 * read; this is the second lock.
 */
export async function confinedPath(root: string, name: string, uri: string): Promise<string> {
  assertMemberName(name, uri);
  const dest = path.resolve(root, ...name.split('/'));
  const inside = (p: string): boolean => p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  const outside = `bundle ${uri}: file ${JSON.stringify(name)} would be written outside ${root}`;
  if (!inside(dest)) throw new ManifestError(outside);
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const parent = await fsp.realpath(path.dirname(dest));
  if (parent !== root && !inside(parent)) throw new ManifestError(`${outside} (through a symbolic link)`);
  return path.join(parent, path.basename(dest));
}

/** Stream to `<dest>.part-<rand>`, then rename: a failed or tampered download leaves nothing at `dest`. */
export async function streamToFile(s: Readable, dest: string): Promise<void> {
  const tmp = `${dest}.part-${randomUUID().slice(0, 8)}`;
  try {
    await pipeline(s, createWriteStream(tmp, { flags: 'wx' }));
    await fsp.rename(tmp, dest);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}
