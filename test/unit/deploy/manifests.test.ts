// The Kubernetes deployment in infra/k8s: plain manifests, loaded and checked as
// the sets an operator applies (base; base with a temporal-cloud ConfigMap in
// place of bpoflow/config.yaml). Structural checks always run; the schema check
// runs kubeconform (strict, Kubernetes v1.35 schemas) when
// `bash infra/tools/kubeconform.sh --prepare` has cached it, and skips otherwise.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../../spec/package-root.js';

const root = packageRoot();
const k8s = join(root, 'infra', 'k8s');
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function load(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: Obj[] = [];
  for (const d of docs) {
    assert.deepEqual(d.errors.map(String), [], `${file}: YAML errors`);
    const v = d.toJS() as Obj | null;
    if (v) out.push({ ...v, __file: file });
  }
  return out;
}

const baseFiles = readdirSync(join(k8s, 'bpoflow'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(k8s, 'bpoflow', f));
const sets: Record<string, string[]> = {
  base: baseFiles,
  'cloud-mtls': [
    ...baseFiles.filter((f) => !f.endsWith('/config.yaml')),
    join(k8s, 'temporal-cloud', 'config-mtls.yaml'),
  ],
  'cloud-api-key': [
    ...baseFiles.filter((f) => !f.endsWith('/config.yaml')),
    join(k8s, 'temporal-cloud', 'config-api-key.yaml'),
  ],
};
const objects = (set: string) => sets[set]!.flatMap(load);
const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const deployments = (objs: Obj[]) => byKind(objs, 'Deployment');
const container = (d: Obj) => d.spec.template.spec.containers[0] as Obj;
const secretKeys = (s: Obj) => Object.keys({ ...(s.data ?? {}), ...(s.stringData ?? {}) });
const SECRETISH = /SECRET|PASSWORD|TOKEN|API_KEY|ACCESS_KEY|PRIVATE/i;

describe('infra/k8s manifests', () => {
  test('every YAML file parses', () => {
    const files = ['bpoflow', 'temporal-cloud', 'helm'].flatMap((d) =>
      readdirSync(join(k8s, d))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(k8s, d, f)),
    );
    assert.ok(files.length >= 8, `found ${files.length} files`);
    for (const f of files) assert.ok(load(f).length > 0, `${f} is empty`);
  });

  for (const set of Object.keys(sets)) {
    test(`${set}: Deployments reference only ConfigMaps/Secrets (and keys) in the set`, () => {
      const objs = objects(set);
      const names = (kind: string) => new Map(byKind(objs, kind).map((o) => [o.metadata.name as string, o]));
      const configMaps = names('ConfigMap');
      const secrets = names('Secret');
      assert.equal(configMaps.size, 1, 'exactly one bpoflow-config');
      for (const o of objs)
        assert.equal(
          o.metadata.namespace ?? 'bpoflow',
          o.kind === 'Namespace' ? (o.metadata.namespace ?? 'bpoflow') : 'bpoflow',
          `${o.kind}/${o.metadata.name} namespace`,
        );
      assert.ok(deployments(objs).length >= 2);
      for (const d of deployments(objs)) {
        const c = container(d);
        for (const ef of c.envFrom ?? []) {
          if (ef.configMapRef)
            assert.ok(configMaps.has(ef.configMapRef.name), `${d.metadata.name}: ConfigMap ${ef.configMapRef.name}`);
          if (ef.secretRef)
            assert.ok(secrets.has(ef.secretRef.name), `${d.metadata.name}: Secret ${ef.secretRef.name}`);
        }
        for (const e of c.env ?? []) {
          const sk = e.valueFrom?.secretKeyRef;
          if (sk) {
            assert.ok(secrets.has(sk.name), `${d.metadata.name}: env ${e.name} -> Secret ${sk.name} missing`);
            assert.ok(
              secretKeys(secrets.get(sk.name)!).includes(sk.key),
              `${d.metadata.name}: Secret ${sk.name} has no key ${sk.key}`,
            );
          }
          const ck = e.valueFrom?.configMapKeyRef;
          if (ck)
            assert.ok(
              configMaps.get(ck.name)?.data?.[ck.key] !== undefined,
              `${d.metadata.name}: ConfigMap key ${ck.name}/${ck.key}`,
            );
          assert.ok(
            !(SECRETISH.test(e.name) && 'value' in e),
            `${d.metadata.name}: ${e.name} must come from a Secret, not an inline value`,
          );
        }
        for (const v of d.spec.template.spec.volumes ?? []) {
          if (v.secret)
            assert.ok(secrets.has(v.secret.secretName), `${d.metadata.name}: volume Secret ${v.secret.secretName}`);
          if (v.configMap)
            assert.ok(configMaps.has(v.configMap.name), `${d.metadata.name}: volume ConfigMap ${v.configMap.name}`);
        }
        const mounts = new Set((c.volumeMounts ?? []).map((m: Obj) => m.name));
        for (const m of mounts)
          assert.ok(
            (d.spec.template.spec.volumes ?? []).some((v: Obj) => v.name === m),
            `${d.metadata.name}: mount ${m} has no volume`,
          );
      }
      // TLS paths in the ConfigMap point into the mounted TLS Secret, at keys it has.
      const cm = [...configMaps.values()][0]!.data as Record<string, string>;
      for (const [k, path] of Object.entries(cm).filter(([k]) => /^TEMPORAL_TLS_.*_PATH$/.test(k))) {
        for (const d of deployments(objs)) {
          const mount = container(d).volumeMounts.find((m: Obj) => path.startsWith(m.mountPath + '/'));
          assert.ok(mount, `${d.metadata.name}: ${k}=${path} is not under a mount`);
          const vol = d.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
          assert.ok(
            secretKeys(secrets.get(vol.secret.secretName)!).includes(path.slice(mount.mountPath.length + 1)),
            `${k}: no such key in ${vol.secret.secretName}`,
          );
        }
      }
    });
  }

  test('no secret values: Secrets are key skeletons, ConfigMaps hold no credentials', () => {
    const objs = [...new Set(Object.values(sets).flat())].flatMap(load);
    for (const s of byKind(objs, 'Secret')) {
      for (const [k, v] of Object.entries({ ...(s.data ?? {}), ...(s.stringData ?? {}) }))
        assert.equal(v, '', `Secret ${s.metadata.name}/${k} has a value`);
    }
    for (const c of byKind(objs, 'ConfigMap')) {
      for (const k of Object.keys(c.data ?? {}))
        assert.ok(!SECRETISH.test(k), `ConfigMap ${c.metadata.name}: ${k} belongs in a Secret`);
    }
    for (const f of readdirSync(join(k8s, 'helm'))) {
      const text = readFileSync(join(k8s, 'helm', f), 'utf8');
      assert.doesNotMatch(text, /^\s*(password|secretKey|accessKey)\s*:/im, `${f} inlines a credential`);
    }
  });

  test('workers: per-queue Deployments, GPU scheduling, graceful shutdown', () => {
    const objs = objects('base');
    const workerSrc = readFileSync(join(root, 'cli', 'worker.ts'), 'utf8');
    const grace = Number(/shutdownGraceTime: '(\d+)s'/.exec(workerSrc)?.[1]);
    assert.ok(grace > 0, 'shutdownGraceTime found in cli/worker.ts');
    const byName = new Map(deployments(objs).map((d) => [d.metadata.name as string, d]));
    const cpu = byName.get('bpoflow-worker-cpu')!;
    const gpu = byName.get('bpoflow-worker-gpu')!;
    assert.ok(cpu && gpu);
    for (const d of [cpu, gpu]) {
      const spec = d.spec.template.spec;
      assert.ok(
        spec.terminationGracePeriodSeconds > grace + 10,
        `${d.metadata.name}: terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} must exceed the worker's ${grace}s drain`,
      );
      assert.equal(container(d).args[0], 'worker');
      assert.ok(spec.securityContext.runAsNonRoot);
    }
    const args = (d: Obj) => (container(d).args as string[]).join(' ');
    assert.match(args(cpu), /--queues cpu\b/);
    assert.doesNotMatch(args(cpu), /--no-workflows/, 'cpu workers also serve the workflow queue');
    assert.match(args(gpu), /--queues gpu\b.*--backend tensorflow.*--no-workflows/);
    const g = gpu.spec.template.spec;
    assert.equal(String(container(gpu).resources.limits['nvidia.com/gpu']), '1');
    assert.ok(
      Object.keys(g.nodeSelector ?? {}).some((k) => k.startsWith('nvidia.com/')),
      'GPU nodeSelector',
    );
    assert.ok(
      (g.tolerations ?? []).some((t: Obj) => t.key === 'nvidia.com/gpu'),
      'GPU toleration',
    );
    assert.equal(container(cpu).resources.limits?.['nvidia.com/gpu'], undefined);
    const pdb = byKind(objs, 'PodDisruptionBudget')[0]!;
    assert.deepEqual(pdb.spec.selector.matchLabels, cpu.spec.selector.matchLabels);
    for (const d of [cpu, gpu])
      assert.deepEqual(
        d.spec.selector.matchLabels,
        Object.fromEntries(
          Object.entries(d.spec.template.metadata.labels).filter(([k]) => k in d.spec.selector.matchLabels),
        ),
      );
  });

  test('Dockerfile: cpu and gpu targets, exec-form entrypoint, non-root', () => {
    const df = readFileSync(join(k8s, 'Dockerfile'), 'utf8');
    assert.match(df, /^FROM .* AS cpu$/m);
    assert.match(df, /^FROM \S+ AS gpu$/m);
    // Native TensorFlow from package registries (infra/native-tf.sh), placed beside bpoflow's own tfjs.
    assert.match(df, /^RUN bash infra\/native-tf\.sh$/m);
    assert.match(df, /^RUN bash infra\/native-tf\.sh --gpu$/m);
    assert.match(
      df,
      /^COPY --from=native-cpu \S+ \/opt\/native\/tfjs-node-4\.22\.0 \.\/node_modules\/@tensorflow\/tfjs-node$/m,
    );
    assert.match(
      df,
      /^COPY --from=native-gpu \S+ \/opt\/native\/tfjs-node-gpu-4\.22\.0 \.\/node_modules\/@tensorflow\/tfjs-node-gpu$/m,
    );
    assert.doesNotMatch(
      df,
      /npm install[^\n]*tfjs-node/,
      "tfjs-node's own install script downloads from a storage host, not a registry",
    );
    assert.match(df, /NVIDIA_DRIVER_CAPABILITIES=compute,utility/);
    assert.equal((df.match(/^ENTRYPOINT \["node", "\/app\/bin\/bpoflow\.js"\]$/gm) ?? []).length, 2);
    assert.equal((df.match(/^USER 1000:1000$/gm) ?? []).length, 2);
  });

  test('Helm values: Temporal on PostgreSQL, SeaweedFS keys exist in the pinned chart', (t) => {
    const temporal = load(join(k8s, 'helm', 'temporal-values.yaml'))[0]!;
    for (const store of ['default', 'visibility']) {
      const sql = temporal.server.config.persistence[store];
      assert.equal(sql.driver, 'sql');
      assert.equal(sql.sql.driver, 'postgres12');
      assert.ok(sql.sql.existingSecret, `${store}: password from an existing Secret`);
    }
    for (const off of ['cassandra', 'mysql', 'elasticsearch'])
      assert.equal(temporal[off].enabled, false, `${off} disabled`);

    const sw = load(join(k8s, 'helm', 'seaweedfs-values.yaml'))[0]!;
    assert.equal(sw.s3.enabled, true);
    assert.equal(sw.s3.enableAuth, true);
    assert.ok(sw.s3.existingConfigSecret);
    // The chart ships in the SeaweedFS Go module the local stack builds from (infra/seaweedfs).
    const version = /SEAWEEDFS_VERSION=(\S+)/.exec(readFileSync(join(root, 'infra', 'versions.env'), 'utf8'))![1];
    const gomodcache = process.env.GOMODCACHE ?? join(process.env.GOPATH ?? join(homedir(), 'go'), 'pkg', 'mod');
    const chart = join(
      gomodcache,
      'github.com',
      'seaweedfs',
      `seaweedfs@${version}`,
      'k8s',
      'charts',
      'seaweedfs',
      'values.yaml',
    );
    if (!existsSync(chart))
      return t.skip(`SeaweedFS chart not in the Go module cache (${chart}); run bash infra/tools.sh`);
    const chartText = readFileSync(chart, 'utf8');
    const chartValues = load(chart)[0]!;
    const check = (mine: Obj, theirs: Obj | undefined, path: string) => {
      for (const [k, v] of Object.entries(mine)) {
        const p = path ? `${path}.${k}` : k;
        const documented = theirs !== undefined && theirs !== null && typeof theirs === 'object' && k in theirs;
        // Options the chart documents only as commented-out examples count too.
        assert.ok(
          documented || new RegExp(`^\\s*#\\s*${k}:`, 'm').test(chartText),
          `seaweedfs-values.yaml: ${p} is not a key of the chart`,
        );
        if (v && typeof v === 'object' && !Array.isArray(v) && documented) check(v as Obj, (theirs as Obj)[k], p);
      }
    };
    const { __file, ...values } = sw;
    check(values, chartValues, '');
  });

  test('kubeconform -strict accepts every set and rejects a broken Deployment', (t) => {
    const tools = process.env.BPOFLOW_TOOLS ?? join(homedir(), '.cache', 'bpoflow', 'tools');
    const kc = join(tools, 'kubeconform-v0.8.0', 'kubeconform');
    const schemas = join(tools, 'k8s-schemas-v1.35.4');
    if (!existsSync(kc) || !existsSync(join(schemas, 'deployment-apps-v1.json'))) {
      return t.skip('kubeconform or its schemas are not cached: run `bash infra/tools/kubeconform.sh --prepare`');
    }
    const run = (files: string[]) =>
      spawnSync(
        kc,
        [
          '-strict',
          '-summary',
          '-kubernetes-version',
          '1.35.4',
          '-schema-location',
          join(schemas, '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
          ...files,
        ],
        { encoding: 'utf8' },
      );
    for (const [set, files] of Object.entries(sets)) {
      const r = run(files);
      assert.equal(r.status, 0, `${set}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /Invalid: 0, Errors: 0, Skipped: 0/);
      console.log(`kubeconform ${set}: ${r.stdout.trim().split('\n').at(-1)}`);
    }
    const broken = join(mkdtempSync(join(tmpdir(), 'bpoflow-k8s-')), 'broken.yaml');
    writeFileSync(
      broken,
      readFileSync(join(k8s, 'bpoflow', 'worker-gpu.yaml'), 'utf8').replace(
        'terminationGracePeriodSeconds: 90',
        'terminationGracePeriodSecs: 90',
      ),
    );
    const r = run([broken]);
    assert.notEqual(r.status, 0, 'a misspelt field must fail strict validation');
    assert.match(r.stdout, /terminationGracePeriodSecs/);
  });
});
