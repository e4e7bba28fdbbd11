// Which local stack the CLI talks to, decided the same way from any directory:
//   1. --home DIR (the CLI sets it with useStackHome)
//   2. $BPOFLOW_HOME
//   3. the nearest .bpoflow/ folder in the current directory or above it, like git's .git/
//   4. the user default, $XDG_STATE_HOME/bpoflow (~/.local/state/bpoflow)
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type HomeSource = 'flag' | 'env' | 'found' | 'default';

export interface ResolvedHome {
  home: string;
  source: HomeSource;
  /** For `default`: where the upward search started. */
  searchedFrom?: string;
}

export const HOME_DIR_NAME = '.bpoflow';

let chosen: ResolvedHome | undefined;

/** Records the CLI's choice (from --home or the search) so messages can say where it came from. */
export function useStackHome(home: ResolvedHome): void {
  chosen = home;
}

export function userDefaultHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'state'), 'bpoflow');
}

/** The nearest `.bpoflow` folder at or above `dir`. */
export function findHomeUpward(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const candidate = join(d, HOME_DIR_NAME);
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    if (dirname(d) === d) return undefined;
  }
}

export function resolveStackHome(opts: { flag?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): ResolvedHome {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  if (opts.flag) return { home: resolve(cwd, opts.flag), source: 'flag' };
  if (env.BPOFLOW_HOME) {
    const home = resolve(cwd, env.BPOFLOW_HOME);
    // The CLI exports its choice as BPOFLOW_HOME; keep saying where that choice came from.
    return chosen && chosen.home === home ? chosen : { home, source: 'env' };
  }
  const found = findHomeUpward(cwd);
  if (found) return { home: found, source: 'found' };
  return { home: userDefaultHome(env), source: 'default', searchedFrom: resolve(cwd) };
}

export function stackHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolveStackHome({ env }).home;
}

/** "/x/.bpoflow (found above the current directory)" and the like, for status lines and errors. */
export function describeHome(r: ResolvedHome = resolveStackHome()): string {
  switch (r.source) {
    case 'flag':
      return `${r.home} (from --home)`;
    case 'env':
      return `${r.home} (from BPOFLOW_HOME)`;
    case 'found':
      return `${r.home} (found from the current directory)`;
    case 'default':
      return `${r.home} (the user default: no ${HOME_DIR_NAME}/ in ${r.searchedFrom ?? 'the current directory'} or above)`;
  }
}
