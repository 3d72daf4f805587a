import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Instruments, type Logger, noInstruments } from '@granary/observability';
import { pythonJson } from '@granary/python-format';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { type AuthConfig, type Principal, createAuthenticator } from './auth.ts';
import type { RestConfig } from './config.ts';
import {
  type GnocchiErrorBody,
  describedRestError,
  restError,
  toGnocchiError,
  undecodableBody,
} from './errors.ts';
import { installHttpMetrics } from './http-metrics.ts';
import { acceptsJson, mediaType, publicBaseUrl } from './http.ts';
import { type OpenApiCollector, collectOpenApi } from './openapi.ts';
import { type PolicyRule, authorize } from './policy.ts';
import type { BacklogPort, IndexPort, MeasuresPort } from './ports.ts';
import { registerAggregatesRoutes } from './routes/aggregates.ts';
import { registerAggregationRoutes } from './routes/aggregation.ts';
import { registerArchivePolicyRoutes } from './routes/archive-policies.ts';
import { registerBatchRoutes } from './routes/batch.ts';
import { registerInfluxDbRoutes } from './routes/influxdb.ts';
import { registerMeasureRoutes } from './routes/measures.ts';
import { registerMetricRoutes } from './routes/metrics.ts';
import { registerPrometheusRoutes } from './routes/prometheus.ts';
import { registerResourceTypeRoutes } from './routes/resource-types.ts';
import { registerResourceRoutes } from './routes/resources.ts';
import { registerRootRoutes } from './routes/root.ts';
import { registerSearchMetricRoutes } from './routes/search-metric.ts';
import { registerSearchRoutes } from './routes/search.ts';
import { type SchemaViolation, voluptuousDescription } from './validation.ts';

/** Who may call a route: anyone, or an authenticated caller (then `policy` may narrow it). */
export type Access = 'public' | 'user';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null on public routes. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
    /** A Gnocchi rule enforced without a target (`{}`) before anything else is read. */
    policy?: PolicyRule;
    /** Media types the body may have (default `application/json`). */
    bodyTypes?: readonly string[];
    /** Serve whatever the client accepts (non-JSON endpoints such as `/healthcheck`). */
    anyAccept?: boolean;
    /** The route decides itself what a missing body means (e.g. after checking the target exists). */
    bodyOptional?: boolean;
    /** Left out of `/openapi.json` (the 405 fillers). */
    hidden?: boolean;
  }
}

export interface ApiDeps {
  index: IndexPort;
  /** Measure writes and reads; absent, the measure endpoints answer 503 after checking their input. */
  measures?: MeasuresPort;
  /** Consumer lag and checkpoints for `/v1/status`; absent, it answers 503. */
  backlog?: BacklogPort;
  logger: Logger;
  /** Where the HTTP metrics go (requests and durations by route); absent, nowhere. */
  instruments?: Instruments;
}

/** What every route module gets besides the fastify instance. */
export interface RouteContext {
  deps: ApiDeps;
  config: RestConfig;
  /** The base URL clients reached the API by (scheme, host and proxy prefix, no trailing slash). */
  baseUrl(request: FastifyRequest): string;
  /** The authenticated caller of a non-public route. */
  principal(request: FastifyRequest): Principal;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const ROUTABLE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The Gnocchi REST API v1 as a fastify instance (not listening): routes, validation with
 * Gnocchi's error descriptions, auth, CORS, content negotiation, `/openapi.json`.
 */
export async function buildApi(deps: ApiDeps, config: RestConfig): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    // pino's Logger is fastify's logger; only the generic parameter differs.
    loggerInstance: deps.logger as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    clientErrorHandler: answerClientError,
    // Resource ids reach 289 characters and metric names 255; find-my-way's default is 100.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1024 },
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        allErrors: true,
        allowUnionTypes: true,
      },
    },
  });
  app.decorateRequest('principal', null);
  app.setReplySerializer((payload) => pythonJson(payload));
  // Gnocchi clients send `Content-Type: application/json` on bodiless DELETEs too; an empty body
  // is no body, not a decoding error.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/json-patch+json'],
    { parseAs: 'string' },
    (request, body, done) => {
      if (body === '') return done(null, undefined);
      parseJson(request, String(body), (err, parsed) => {
        if (err) return done(err, undefined);
        const problem = jsonBodyProblem(parsed, config.maxJsonDepth);
        if (problem) return done(undecodableBody(problem), undefined);
        done(null, parsed);
      });
    },
  );

  const openApi: OpenApiCollector = collectOpenApi(app);
  const methodsByUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const known = methodsByUrl.get(route.url) ?? new Set<string>();
    for (const method of methods) known.add(method);
    methodsByUrl.set(route.url, known);
  });

  refuseNul(app);
  installCors(app, config);
  installAccessControl(app, config.auth, deps.logger);
  installErrorHandling(app);
  installHttpMetrics(app, deps.instruments ?? noInstruments);

  const context: RouteContext = {
    deps,
    config,
    baseUrl: (request) => publicBaseUrl(request, config.trustForwardedHeaders),
    principal: (request) => {
      if (!request.principal) throw restError('REST_UNAUTHENTICATED');
      return request.principal;
    },
  };
  registerRootRoutes(app, context, openApi);
  registerArchivePolicyRoutes(app, context);
  registerResourceTypeRoutes(app, context);
  registerMetricRoutes(app, context);
  registerResourceRoutes(app, context);
  registerSearchRoutes(app, context);
  registerMeasureRoutes(app, context);
  registerAggregatesRoutes(app, context);
  registerAggregationRoutes(app, context);
  registerSearchMetricRoutes(app, context);
  registerBatchRoutes(app, context);
  await registerInfluxDbRoutes(app, context);
  await registerPrometheusRoutes(app, context);

  // Gnocchi answers 405 for a known path with a method it does not serve; fastify would say 404.
  for (const [url, methods] of [...methodsByUrl]) {
    const missing = ROUTABLE_METHODS.filter((method) => !methods.has(method));
    if (missing.length === 0 || url === '*') continue;
    app.route({
      method: missing,
      url,
      config: { access: 'public', anyAccept: true, hidden: true },
      handler: async () => {
        throw restError('REST_METHOD_NOT_ALLOWED');
      },
    });
  }
  return app;
}

/**
 * oslo.middleware's CORS as Gnocchi configures it: preflights are answered 200 before auth, with
 * the allow headers only for an allowed origin; actual requests from an allowed origin get
 * `Access-Control-Allow-Origin` and the exposed headers.
 */
function installCors(app: FastifyInstance, config: RestConfig): void {
  const { cors } = config;
  const allowed = (origin: string | undefined): origin is string =>
    origin !== undefined && (cors.allowedOrigins.includes(origin) || cors.allowedOrigins.includes('*'));
  app.options('*', { config: { access: 'public', anyAccept: true } }, async () => {
    throw restError('REST_METHOD_NOT_ALLOWED');
  });
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    const requestedMethod = request.headers['access-control-request-method'];
    if (request.method === 'OPTIONS' && typeof requestedMethod === 'string') {
      reply.code(200);
      if (allowed(origin) && cors.allowMethods.includes(requestedMethod.toUpperCase())) {
        const requestedHeaders = String(request.headers['access-control-request-headers'] ?? '')
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean);
        const allowHeaders = cors.allowHeaders.map((h) => h.toLowerCase());
        if (requestedHeaders.every((h) => allowHeaders.includes(h.toLowerCase()))) {
          reply.header('access-control-allow-origin', origin);
          reply.header('access-control-allow-methods', requestedMethod.toUpperCase());
          reply.header('access-control-allow-credentials', 'true');
          reply.header('access-control-max-age', String(cors.maxAgeSeconds));
          if (requestedHeaders.length > 0)
            reply.header('access-control-allow-headers', requestedHeaders.join(','));
          reply.header('vary', 'Origin');
        }
      }
      return reply.send();
    }
    if (allowed(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
      reply.header('access-control-expose-headers', cors.exposeHeaders.join(','));
      reply.header('vary', 'Origin');
    }
  });
}

/** Content negotiation, then authentication and the route's access level, then the body's media type. */
function installAccessControl(app: FastifyInstance, auth: AuthConfig, logger: Logger): void {
  const authenticator = createAuthenticator(auth, logger);
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    if (!config.anyAccept && !acceptsJson(request.headers.accept)) throw restError('REST_NOT_ACCEPTABLE');
    const access = config.access ?? 'user';
    if (access === 'public') return;
    try {
      request.principal = await authenticator.authenticate(request);
    } catch (err) {
      if (authenticator.challenge && (err as { status?: number }).status === 401) {
        reply.header('www-authenticate', authenticator.challenge);
      }
      throw err;
    }
    if (config.policy) authorize(request.principal, config.policy);
  });
  app.addHook('preValidation', async (request) => {
    const config = request.routeOptions.config;
    const takesBody = request.routeOptions.schema?.body !== undefined || config.bodyOptional === true;
    if (!takesBody || !BODY_METHODS.has(request.method)) return;
    const accepted = config.bodyTypes ?? ['application/json'];
    const type = mediaType(request.headers['content-type']);
    // A route whose body is optional may be called with neither body nor content type.
    const bodiless = config.bodyOptional === true && request.body === undefined && type === undefined;
    if (!bodiless && (type === undefined || !accepted.includes(type)))
      throw restError('REST_UNSUPPORTED_MEDIA_TYPE');
    if (request.body === undefined && !config.bodyOptional) throw undecodableBody('Expected object or value');
  });
}

function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler({}, async (_request, reply) => sendError(reply, restError('REST_NOT_FOUND')));
  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const translated = translateFastifyError(err);
    const body = toGnocchiError(translated);
    // A 501 describes the request (an unsupported InfluxDB query), not a failure of the API.
    if (body.code >= 500 && body.code !== 501) {
      request.log.error({ err, method: request.method, url: request.url }, 'request failed');
    }
    return sendError(reply, translated, body);
  });
}

function sendError(reply: FastifyReply, err: unknown, body: GnocchiErrorBody = toGnocchiError(err)) {
  return reply.code(body.code).type('application/json').send(body);
}

/**
 * Why a parsed body is refused before any route sees it, walked without recursion: nesting deeper
 * than `maxDepth` (routes walk bodies recursively and must not overflow the stack), or a NUL
 * character in a key or string (PostgreSQL text cannot hold one).
 */
export function jsonBodyProblem(value: unknown, maxDepth: number): string | undefined {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node === 'string' && node.includes('\0')) return 'NUL characters are not accepted';
    if (typeof node !== 'object' || node === null) continue;
    if (depth > maxDepth) return `JSON nested deeper than ${maxDepth} levels`;
    for (const [key, child] of Object.entries(node)) {
      if (key.includes('\0')) return 'NUL characters are not accepted';
      pending.push([child, depth + 1]);
    }
  }
  return undefined;
}

/**
 * A NUL in a path segment or query value (`%00`), or in basic credentials, cannot reach PostgreSQL
 * text (the user name becomes a creator): refused before routing goes further.
 */
function refuseNul(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (/%00|\0/.test(request.url)) {
      throw describedRestError('REST_INVALID_INPUT', 'NUL characters are not accepted in the URL');
    }
    const basic = /^basic\s+(\S+)$/i.exec(String(request.headers.authorization ?? '').trim());
    if (basic && Buffer.from(basic[1]!, 'base64').includes(0)) {
      throw restError('REST_UNAUTHENTICATED', 'NUL characters are not accepted in credentials');
    }
  });
}

/**
 * Refusals of node's HTTP parser before any route (headers over the size limit, a request not
 * read in time, malformed HTTP), in Gnocchi's error shape instead of fastify's.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const title = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ code: status, title, description: title });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** fastify's own refusals (schema, parser, limits) become the REST layer's coded errors. */
function translateFastifyError(err: FastifyError): unknown {
  if (err.validation) {
    return describedRestError(
      'REST_INVALID_INPUT',
      voluptuousDescription(err.validation as SchemaViolation[]),
    );
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return restError('REST_UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return describedRestError('REST_BODY_TOO_LARGE', 'Request body is larger than the configured limit');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return undecodableBody(err.message);
  }
  if (err instanceof SyntaxError && err.statusCode === 400) return undecodableBody(err.message);
  return err;
}
