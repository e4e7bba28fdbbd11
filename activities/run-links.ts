// Links between a run and the runs `bpoflow resume` made of it, kept at
// `runs/<run>/links.json`: the old run names the runs that resumed it
// (`resumedBy`), a resumed run names the run it resumes (`resumedFrom`). The
// resume command writes the back link before it starts the new run, so the new
// run's steps can always find it: a training step that the old run left half
// done continues from that run's checkpoints (activities/steps/training.ts).
import type { ArtifactStore } from '../store/artifacts.js';

export interface RunLinks {
  resumedBy: string[];
  resumedFrom?: string;
}

/** How far back a resume chain is followed (a run resumed from a resumed run …). */
export const MAX_RESUME_CHAIN = 16;

export const linksUri = (store: ArtifactStore, runId: string) => `s3://${store.bucket}/runs/${runId}/links.json`;

export async function runLinks(store: ArtifactStore, runId: string): Promise<RunLinks> {
  const uri = linksUri(store, runId);
  if (!(await store.exists(uri))) return { resumedBy: [] };
  const links = await store.readJson<Partial<RunLinks>>(uri);
  return { ...links, resumedBy: links.resumedBy ?? [] };
}

async function update(store: ArtifactStore, runId: string, by: string, change: (l: RunLinks) => void): Promise<void> {
  const links = await runLinks(store, runId);
  change(links);
  await store.putJson(linksUri(store, runId), links, { kind: 'other', producer: { runId: by, stepId: 'resume' } });
}

/** `newRunId` resumes `oldRunId`: the back link on the new run (before it starts) … */
export function linkResumedFrom(store: ArtifactStore, newRunId: string, oldRunId: string): Promise<void> {
  return update(store, newRunId, newRunId, (l) => void (l.resumedFrom = oldRunId));
}

/** … and the forward link on the old one. */
export function linkResumedBy(store: ArtifactStore, oldRunId: string, newRunId: string): Promise<void> {
  return update(store, oldRunId, newRunId, (l) => void (l.resumedBy.includes(newRunId) || l.resumedBy.push(newRunId)));
}

/** The runs `runId` resumes, nearest first: the run it resumed, the run that one resumed, … */
export async function resumeAncestors(store: ArtifactStore, runId: string): Promise<string[]> {
  const out: string[] = [];
  let current = runId;
  while (out.length < MAX_RESUME_CHAIN) {
    const from = (await runLinks(store, current)).resumedFrom;
    if (!from || from === runId || out.includes(from)) break;
    out.push(from);
    current = from;
  }
  return out;
}
