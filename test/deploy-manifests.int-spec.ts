import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

const K8S = path.join(__dirname, '..', 'deploy', 'k8s');
const KUSTOMIZE_API = /^kustomize\.config\.k8s\.io\//;

interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: Record<string, any>;
  [field: string]: unknown;
}

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
function modelOf(manifest: Manifest): (new (data: unknown) => { validate(): void }) | undefined {
  const [group, version] = manifest.apiVersion.includes('/') ? manifest.apiVersion.split('/') : ['', manifest.apiVersion];
  const modulePath = ['kubernetes-models', group, version, manifest.kind].filter(Boolean).join('/');
  try {
    return (require(modulePath) as Record<string, new (data: unknown) => { validate(): void }>)[manifest.kind];
  } catch {
    return undefined;
  }
}

const manifests = loadManifests();
const resources = manifests.filter((manifest) => !KUSTOMIZE_API.test(manifest.apiVersion));
const ofKind = (kind: string) => resources.filter((manifest) => manifest.kind === kind);

describe('deploy/k8s manifests (validated offline against the Kubernetes schemas)', () => {
  it.each(resources.map((manifest) => [`${manifest.file}: ${manifest.kind} ${manifest.metadata?.name}`, manifest]))(
    '%s is a valid object of its kind',
    (_name, manifest) => {
      const Model = modelOf(manifest as Manifest);
      expect(Model).toBeDefined();
      const { file: _file, ...object } = manifest as Manifest;
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
      (deployment.spec?.template.spec.volumes ?? []).map((volume: any) => volume.persistentVolumeClaim?.claimName).filter(Boolean),
    );
    expect(mounted).toContain('jarek-va-shared-db');
    for (const claim of mounted) expect(claims).toContain(claim);
  });

  it('places the API on cursor-runner\'s node, so a ReadWriteOnce claim and the rolling update both work', () => {
    const claim = ofKind('PersistentVolumeClaim').find((one) => one.metadata?.name === 'jarek-va-shared-db')!;
    expect(claim.spec?.accessModes).toEqual(['ReadWriteOnce']);
    const [api] = ofKind('Deployment');
    const required = api.spec?.template.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(required).toContainEqual({
      labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'cursor-runner' } },
      topologyKey: 'kubernetes.io/hostname',
    });
    expect(api.spec?.replicas).toBe(1);
  });

  it('routes the Service to the Deployment\'s pods', () => {
    const [service] = ofKind('Service');
    const [api] = ofKind('Deployment');
    expect(api.spec?.template.metadata.labels).toMatchObject(service.spec?.selector);
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
    expect(callers.map(([name]) => name)).toEqual(['api']);
    for (const [, service] of callers) expect(service.extra_hosts).toContain('host.docker.internal:host-gateway');
  });
});
