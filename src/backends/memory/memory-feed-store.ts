import type { ChangeFeedStore } from '../ports.js';

/** State shared by every node of one in-process network (a server's worth). */
export class MemoryFeedState {}

/** BASE STUB: replaced by the issue-9 helper that owns it. */
export class MemoryFeedStore implements ChangeFeedStore {
  constructor(
    readonly nodeId: string,
    readonly state: MemoryFeedState,
  ) {}

  append(): never {
    throw new Error('TODO(issue 9): ChangeFeedStore.append');
  }

  read(): never {
    throw new Error('TODO(issue 9): ChangeFeedStore.read');
  }

  seqBefore(): never {
    throw new Error('TODO(issue 9): ChangeFeedStore.seqBefore');
  }

  lastSeq(): never {
    throw new Error('TODO(issue 9): ChangeFeedStore.lastSeq');
  }

  watch(): never {
    throw new Error('TODO(issue 9): ChangeFeedStore.watch');
  }

  saveCursor(): never {
    throw new Error('TODO(issue 9): ChangeFeedStore.saveCursor');
  }

  loadCursor(): never {
    throw new Error('TODO(issue 9): ChangeFeedStore.loadCursor');
  }

  close(): void {}
}
