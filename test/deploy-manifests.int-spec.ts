import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { WORKER_DRAIN_SHARE } from '@app/queue';

const K8S = path.join(__dirname, '..', 'deploy', 'k8s');
const KUSTOMIZE_API = /^kustomize\.config\.k8s\.io\//;

interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: ManifestSpec;
  [field: string]: unknown;
}

interface Probe {
  httpGet?: { path?: string; port?: string };
}

interface Container {
  env?: { name: string; value?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: { cpu?: string } };
}

/** The parts of the specs of Deployments, Services, claims, budgets and autoscalers these tests read. */
interface ManifestSpec {
  replicas?: number;
  accessModes?: string[];
  selector?: Record<string, string> & { matchLabels?: Record<string, string> };
  strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number; maxSurge?: number } };
  minAvailable?: number;
  maxUnavailable?: number;
  scaleTargetRef?: { kind?: string; name?: string };
  minReplicas?: number;
  maxReplicas?: number;
  metrics?: { type?: string; resource?: { name?: string } }[];
  template?: {
    metadata?: { labels?: Record<string, string> };
    spec?: {
      terminationGracePeriodSeconds?: number;
      containers?: Container[];
      volumes?: { persistentVolumeClaim?: { claimName?: string } }[];
      affinity?: { podAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: unknown[] } };
    };
  };
}

type ModelClass = new (data: unknown) => { validate(): void };

function yamlFiles(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });
}

/** Every document of every YAML file under deploy/k8s, a new file included without listing it here. */
function loadManifests(): Manifest[] {
  return yamlFiles(K8S).flatMap((file) =>
    parseAllDocuments(fs.readFileSync(file, 'utf8')).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map(String).join('; ')}`);
      return { ...(document.toJS() as Manifest), file: path.relative(K8S, file) };
    }),
  );
}

/** The kubernetes-models class for a manifest's apiVersion and kind (its JSON schema, validated with ajv). */
function modelOf(manifest: Manifest): ModelClass | undefined {
  const [group, version] = manifest.apiVersion.includes('/') ? manifest.apiVersion.split('/') : ['', manifest.apiVersion];
  const modulePath = ['kubernetes-models', group, version, manifest.kind].filter(Boolean).join('/');
  try {
    // The module path is built from the manifest's own apiVersion and kind, so it cannot be a static import.
    return (module.require(modulePath) as Record<string, ModelClass>)[manifest.kind];
  } catch {
    return undefined;
  }
}

const manifests = loadManifests();
const resources = manifests.filter((manifest) => !KUSTOMIZE_API.test(manifest.apiVersion));
const ofKind = (kind: string) => resources.filter((manifest) => manifest.kind === kind);
const component = (kind: string, name: string) =>
  ofKind(kind).filter((manifest) => manifest.metadata?.labels?.['app.kubernetes.io/component'] === name);
const only = <T>(found: T[]): T => {
  expect(found).toHaveLength(1);
  return found[0];
};
const containerOf = (deployment: Manifest): Container => only(deployment.spec?.template?.spec?.containers ?? []);
const envOf = (deployment: Manifest, name: string): string | undefined =>
  containerOf(deployment).env?.find((variable) => variable.name === name)?.value;
/** Whether `budget`'s selector picks the pods of `deployment`. */
const selects = (selector: Manifest['spec'], deployment: Manifest) =>
  Object.entries(selector?.selector?.matchLabels ?? { none: 'none' }).every(
    ([label, value]) => deployment.spec?.template?.metadata?.labels?.[label] === value,
  );

describe('deploy/k8s manifests (validated offline against the Kubernetes schemas)', () => {
  it.each(resources.map((manifest) => [`${manifest.file}: ${manifest.kind} ${manifest.metadata?.name}`, manifest]))(
    '%s is a valid object of its kind',
    (_name, manifest) => {
      const Model = modelOf(manifest);
      expect(Model).toBeDefined();
      const { file: _file, ...object } = manifest;
      expect(() => new Model!(object).validate()).not.toThrow();
    },
  );

  it('lists every manifest file in kustomization.yaml, and nothing that is missing', () => {
    const [kustomization] = manifests.filter((manifest) => manifest.kind === 'Kustomization');
    const listed = (kustomization.resources as string[]).slice().sort();
    const files = [...new Set(resources.map((manifest) => manifest.file))].sort();
    expect(listed).toEqual(files);
  });

  it('defines every PersistentVolumeClaim a pod template mounts', () => {
    const claims = new Set(ofKind('PersistentVolumeClaim').map((claim) => claim.metadata?.name));
    const mounted = ofKind('Deployment').flatMap((deployment) =>
      (deployment.spec?.template?.spec?.volumes ?? []).map((volume) => volume.persistentVolumeClaim?.claimName).filter(Boolean),
    );
    expect(mounted).toContain('jarek-va-shared-db');
    for (const claim of mounted) expect(claims).toContain(claim);
  });

  it('places every pod on cursor-runner\'s node, on the one shared claim, so a ReadWriteOnce claim and rolling updates work', () => {
    const claim = ofKind('PersistentVolumeClaim').find((one) => one.metadata?.name === 'jarek-va-shared-db')!;
    expect(claim.spec?.accessModes).toEqual(['ReadWriteOnce']);
    const deployments = ofKind('Deployment');
    expect(deployments.map((deployment) => deployment.metadata?.name).sort()).toEqual(['jarek-va-api', 'jarek-va-worker']);
    for (const deployment of deployments) {
      const required = deployment.spec?.template?.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
      expect(required).toContainEqual({
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'cursor-runner' } },
        topologyKey: 'kubernetes.io/hostname',
      });
      expect(deployment.spec?.template?.spec?.volumes?.map((volume) => volume.persistentVolumeClaim?.claimName)).toEqual([
        'jarek-va-shared-db',
      ]);
    }
  });

  it('runs at least 2 API replicas with APP_ROLE=api, replaced only once the new pod is ready', () => {
    const api = only(component('Deployment', 'api'));
    expect(api.spec?.replicas).toBeGreaterThanOrEqual(2);
    expect(envOf(api, 'APP_ROLE')).toBe('api');
    expect(api.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(containerOf(api).readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
  });

  it('scales the API on CPU between 2 and more replicas, and keeps one ready through voluntary disruptions', () => {
    const api = only(component('Deployment', 'api'));
    const autoscaler = only(ofKind('HorizontalPodAutoscaler'));
    expect(autoscaler.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: api.metadata?.name });
    expect(autoscaler.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(autoscaler.spec?.maxReplicas).toBeGreaterThan(autoscaler.spec?.minReplicas ?? Infinity);
    expect(autoscaler.spec?.metrics).toEqual([expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) })]);
    // Utilization is a share of the request: without a CPU request the autoscaler cannot act.
    expect(containerOf(api).resources?.requests?.cpu).toBeDefined();
    const budget = only(ofKind('PodDisruptionBudget').filter((one) => selects(one.spec, api)));
    expect(budget.spec?.minAvailable).toBe(1);
  });

  it('runs workers with APP_ROLE=worker, their own probes and budget, and a drain longer than the longest job', () => {
    const worker = only(component('Deployment', 'worker'));
    expect(envOf(worker, 'APP_ROLE')).toBe('worker');
    const container = containerOf(worker);
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    const budget = only(ofKind('PodDisruptionBudget').filter((one) => selects(one.spec, worker)));
    expect(budget.spec?.maxUnavailable).toBe(1);

    // One attempt: 4 Telegram calls, one transcription, one forward to cursor-runner, each at its timeout.
    const longestJobMs =
      4 * Number(envOf(worker, 'TELEGRAM_TIMEOUT_MS')) +
      Number(envOf(worker, 'ELEVENLABS_TIMEOUT_MS')) +
      1000 * Number(envOf(worker, 'CURSOR_RUNNER_TIMEOUT'));
    const shutdownMs = Number(envOf(worker, 'SHUTDOWN_TIMEOUT_MS'));
    expect(longestJobMs).toBeGreaterThan(0);
    expect(shutdownMs * WORKER_DRAIN_SHARE).toBeGreaterThanOrEqual(longestJobMs);
    expect((worker.spec?.template?.spec?.terminationGracePeriodSeconds ?? 0) * 1000).toBeGreaterThan(shutdownMs);
    expect(envOf(worker, 'CURSOR_RUNNER_CALLBACK_BASE_URL')).toBe(`http://${only(ofKind('Service')).metadata?.name}`);
  });

  it('routes the Service to the API pods only', () => {
    const service = only(ofKind('Service'));
    expect(only(component('Deployment', 'api')).spec?.template?.metadata?.labels).toMatchObject(service.spec?.selector ?? {});
    expect(only(component('Deployment', 'worker')).spec?.template?.metadata?.labels).not.toMatchObject(service.spec?.selector ?? {});
  });
});

describe('docker-compose.yml', () => {
  const compose = parseAllDocuments(fs.readFileSync(path.join(__dirname, '..', 'docker-compose.yml'), 'utf8'))[0].toJS() as {
    services: Record<string, { environment?: Record<string, string>; extra_hosts?: string[] }>;
  };

  it('maps host.docker.internal to the host for every service that may call it (Linux does not resolve it)', () => {
    const callers = Object.entries(compose.services).filter(([, service]) =>
      Object.values(service.environment ?? {}).some((value) => String(value).includes('host.docker.internal')),
    );
    expect(callers.map(([name]) => name)).toEqual(['api', 'api-sentinel', 'api-cluster']);
    for (const [, service] of callers) expect(service.extra_hosts).toContain('host.docker.internal:host-gateway');
  });
});
