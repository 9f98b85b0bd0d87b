import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod, type INestApplicationContext, type Type } from '@nestjs/common';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { isHttpCached } from '@app/cache';
import { declaredErrorShape, type ErrorShape } from '@app/http';

/** A route a Nest controller maps, with what the OpenAPI document derives from its decorators. */
export interface ControllerRoute {
  /** Lower-case, as OpenAPI keys operations: `get`, `post`. */
  method: string;
  /** OpenAPI path template: `/telegram/bots/{id}`. */
  path: string;
  /** Guards of the controller and the method, in the order Nest runs them. */
  guards: Type[];
  /** Whether `@HttpCached` answers it (`X-Cache`, `ETag`, 304). */
  cached: boolean;
  errorShape: ErrorShape;
}

const joinPath = (...parts: string[]): string =>
  `/${parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/')}`;

const toTemplate = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const pathsOf = (metadata: unknown): string[] => [metadata ?? '/'].flat().map(String);

const classList = (metadata: unknown): Type[] => [metadata ?? []].flat() as Type[];

/**
 * Every route of every controller the application composes, read from the same decorator metadata
 * Nest routes by, so the document cannot disagree with the routes about guards, caching or the
 * error shape. Works on an application created with `preview: true` (nothing instantiated).
 */
export function controllerRoutes(app: INestApplicationContext): ControllerRoute[] {
  const scanner = new MetadataScanner();
  const routes: ControllerRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | undefined;
      if (!controller) continue;
      const prototype = controller.prototype as Record<string, object>;
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        const requestMethod = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (requestMethod === undefined) continue;
        const guards = [
          ...classList(Reflect.getMetadata(GUARDS_METADATA, controller)),
          ...classList(Reflect.getMetadata(GUARDS_METADATA, handler)),
        ];
        for (const base of pathsOf(Reflect.getMetadata(PATH_METADATA, controller))) {
          for (const own of pathsOf(Reflect.getMetadata(PATH_METADATA, handler))) {
            routes.push({
              method: RequestMethod[requestMethod].toLowerCase(),
              path: toTemplate(joinPath(base, own)),
              guards,
              cached: isHttpCached(controller, handler),
              errorShape: declaredErrorShape(handler),
            });
          }
        }
      }
    }
  }
  return routes;
}
