// How the CLI finds its stack home: --home, then BPOFLOW_HOME, then the nearest
// .bpoflow/ at or above the current directory, then the user default.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { describeHome, resolveStackHome, userDefaultHome } from '../../../infra/stack-home.js';

const root = mkdtempSync(join(tmpdir(), 'bpoflow-home-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'project', '.bpoflow'), { recursive: true });
mkdirSync(join(root, 'project', 'a', 'b'), { recursive: true });
mkdirSync(join(root, 'plain', 'x'), { recursive: true });
writeFileSync(join(root, 'plain', '.bpoflow'), 'a file, not a stack home');
const env = { HOME: join(root, 'home'), XDG_STATE_HOME: join(root, 'state') };

test('the nearest .bpoflow/ folder at or above the current directory', () => {
  const r = resolveStackHome({ env, cwd: join(root, 'project', 'a', 'b') });
  assert.deepEqual(r, { home: join(root, 'project', '.bpoflow'), source: 'found' });
  assert.equal(describeHome(r), `${join(root, 'project', '.bpoflow')} (found from the current directory)`);
  assert.equal(resolveStackHome({ env, cwd: join(root, 'project') }).home, join(root, 'project', '.bpoflow'));
});

test('without one (a file named .bpoflow does not count), the user default, and it says why', () => {
  const r = resolveStackHome({ env, cwd: join(root, 'plain', 'x') });
  assert.deepEqual(r, {
    home: join(root, 'state', 'bpoflow'),
    source: 'default',
    searchedFrom: join(root, 'plain', 'x'),
  });
  assert.equal(
    describeHome(r),
    `${join(root, 'state', 'bpoflow')} (the user default: no .bpoflow/ in ${join(root, 'plain', 'x')} or above)`,
  );
});

test('the user default is $XDG_STATE_HOME/bpoflow, else ~/.local/state/bpoflow (a relative XDG_STATE_HOME is ignored)', () => {
  assert.equal(userDefaultHome(env), join(root, 'state', 'bpoflow'));
  assert.equal(userDefaultHome({ HOME: '/h' }), '/h/.local/state/bpoflow');
  assert.equal(userDefaultHome({ HOME: '/h', XDG_STATE_HOME: 'rel' }), '/h/.local/state/bpoflow');
});

test('BPOFLOW_HOME beats the search, and --home beats both', () => {
  const cwd = join(root, 'project', 'a');
  assert.deepEqual(resolveStackHome({ env: { ...env, BPOFLOW_HOME: 'rel/home' }, cwd }), {
    home: join(cwd, 'rel', 'home'),
    source: 'env',
  });
  assert.deepEqual(resolveStackHome({ env: { ...env, BPOFLOW_HOME: '/elsewhere' }, cwd, flag: '../flagged' }), {
    home: join(root, 'project', 'flagged'),
    source: 'flag',
  });
});
