import { type INestApplication, type Type } from '@nestjs/common';
import { METHOD_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';

import { ROUTE_ACCESS, type RouteAccess } from '../auth/route-access';

/** One controller method and the access it declares, keyed as @nestjs/swagger names its operation. */
export interface HandlerAccess {
  readonly operationId: string;
  readonly access: RouteAccess | undefined;
}

/** A route handler: its controller, its method name and the function itself. */
export interface RouteHandler {
  readonly controller: Type;
  readonly name: string;
  readonly handler: (...args: unknown[]) => unknown;
}

/** Every route handler of every controller in the app. */
export function routeHandlersOf(app: INestApplication): RouteHandler[] {
  const handlers: RouteHandler[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (controller === null || typeof controller !== 'function') continue;
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler: unknown = (controller.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        handlers.push({ controller, name, handler: handler as RouteHandler['handler'] });
      }
    }
  }
  return handlers;
}

/**
 * Reads every controller handler's access declaration (the AccessGuard's own metadata), so the
 * OpenAPI document states which routes need a credential from the same source the guard enforces.
 */
export function handlerAccessOf(app: INestApplication): Map<string, HandlerAccess> {
  const reflector = new Reflector();
  const handlers = new Map<string, HandlerAccess>();
  for (const { controller, name, handler } of routeHandlersOf(app)) {
    // @nestjs/swagger's default operationId: `${ControllerClass}_${method}`.
    const operationId = `${controller.name}_${name}`;
    if (handlers.has(operationId)) throw new Error(`Two controllers are named ${controller.name}`);
    const access = reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, [handler, controller]);
    handlers.set(operationId, { operationId, access });
  }
  return handlers;
}
