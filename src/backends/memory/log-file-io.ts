import { open, type FileHandle } from 'node:fs/promises';

/** Make a folder's entries (a new or renamed file) survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write all of `text` at the handle's position (a write may take less than asked). */
export async function writeAll(handle: FileHandle, text: string): Promise<void> {
  const data = Buffer.from(text);
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/** Cut the file at `path` to `size` bytes, durably (a torn last write dropped). */
export async function truncateDurably(path: string, size: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(size);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** A group-commit batch: what it carries, and a promise settled once it is written. */
export interface GroupBatch<T> {
  readonly items: T;
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export function newGroupBatch<T>(items: T): GroupBatch<T> {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed batch is reported to its callers; nobody else needs to observe it.
  done.catch(() => undefined);
  return { items, done, resolve, reject };
}
