import { Inject } from '@nestjs/common';
import type { CacheNamespace } from './namespace';

/**
 * Injects the {@link NamespaceCache} of `namespace`; the module must import
 * `CacheModule.forFeature(namespace)`.
 *
 * @example constructor(@InjectCache(SETTINGS_CACHE) private readonly cache: NamespaceCache) {}
 */
export const InjectCache = (namespace: CacheNamespace): ParameterDecorator & PropertyDecorator =>
  Inject(namespace.token);
