// One artifact store client per worker process, from the environment or the local stack.
import { ArtifactStore } from '../store/artifacts.js';

let store: Promise<ArtifactStore> | undefined;

export function sharedStore(): Promise<ArtifactStore> {
  store ??= (async () => {
    const s = ArtifactStore.fromEnv();
    await s.ensureBucket();
    return s;
  })();
  return store;
}
