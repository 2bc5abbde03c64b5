/**
 * The API's one route table: a path pattern and, per method, its handler.
 * Routes are tried in the order they were added and the first pattern that
 * matches the path answers: with its handler for the method, or 405 (with
 * `Allow`) when it has none; a path no pattern matches is 404.
 *
 * A pattern is segments: `v1` matches itself, `:name` any one segment (its
 * value in `params.name`), and a last `*` any number of segments, none too.
 * Empty segments (`//`, a trailing `/`) are ignored unless the route is
 * `strict`, when the path must be written exactly as the pattern.
 *
 * @module
 */
import { NotFoundError } from '../model/errors.js';
import { allowMethod } from './http-semantics.js';
import type { ApiRequest, ApiResponse } from './types.js';

/** The values of a pattern's `:name` segments. */
export type Params = Readonly<Record<string, string>>;

/** Answers a request; `context` is what the route's `before` returned. */
export type Handler<C = undefined> = (
  req: ApiRequest,
  params: Params,
  context: C,
) => ApiResponse | Promise<ApiResponse>;

/** Handlers by upper-case method; `*` answers any method the others do not. */
export type Handlers<C = undefined> = Readonly<Record<string, Handler<C>>>;

export interface RouteOptions<C> {
  /**
   * Runs once the path matches, before the method is checked (so an
   * unauthenticated request is 401 before it is 405); what it returns is
   * every handler's `context`. @default none
   */
  readonly before?: (req: ApiRequest, params: Params) => Promise<C>;
  /** The path must be exactly the pattern: no doubled or trailing `/`. @default false */
  readonly strict?: boolean;
}

interface Route {
  readonly segments: readonly string[];
  readonly handlers: Handlers<unknown>;
  readonly options: RouteOptions<unknown>;
}

export class Router {
  readonly #routes: Route[] = [];

  /**
   * @example
   * router.add('/v1/gateways/:name/snapshot', { GET: snapshot, HEAD: snapshot });
   */
  add<C = undefined>(pattern: string, handlers: Handlers<C>, options: RouteOptions<C> = {}): this {
    this.#routes.push({
      segments: split(pattern),
      handlers: handlers as Handlers<unknown>,
      options: options as RouteOptions<unknown>,
    });
    return this;
  }

  /**
   * @throws NotFoundError when no pattern matches the path
   * @throws MethodNotAllowedError when one does, but not for this method
   */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    const method = req.method.toUpperCase();
    const parts = split(req.path);
    for (const route of this.#routes) {
      if (route.options.strict && req.path !== `/${parts.join('/')}`) continue;
      const params = match(route.segments, parts);
      if (!params) continue;
      const context = route.options.before ? await route.options.before(req, params) : undefined;
      const handler = route.handlers[method] ?? route.handlers['*'];
      if (!handler) allowMethod(method, Object.keys(route.handlers));
      return handler!(req, params, context);
    }
    throw new NotFoundError(`no such endpoint: ${req.path}`);
  }
}

const split = (path: string): string[] => path.split('/').filter((p) => p !== '');

/** The params of `parts` under `segments`, or `undefined` when they do not match. */
function match(segments: readonly string[], parts: readonly string[]): Params | undefined {
  const params: Record<string, string> = {};
  for (const [i, segment] of segments.entries()) {
    if (segment === '*' && i === segments.length - 1) return params;
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.startsWith(':')) params[segment.slice(1)] = part;
    else if (segment !== part) return undefined;
  }
  return parts.length === segments.length ? params : undefined;
}
