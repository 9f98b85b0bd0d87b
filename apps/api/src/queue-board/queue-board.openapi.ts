import type { PathsObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ADMIN_SECRET_HEADER } from '@app/http';
import { ADMIN_SESSION_COOKIE, QUEUE_BOARD_PATH } from './admin-session';

const ERROR = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } };
const HTML = { 'text/html': { schema: { type: 'string' } } };

/** Security schemes of the dashboard: the admin secret header, or the cookie its login form sets. */
export const QUEUE_BOARD_SECURITY_SCHEMES = {
  queueBoardSession: { type: 'apiKey', in: 'cookie', name: ADMIN_SESSION_COOKIE },
} as const;

/**
 * The dashboard's own routes, mounted on Fastify outside Nest's controllers, so written here by
 * hand. What Bull Board serves beneath them (its JSON API and static files) is its own contract and
 * is left out of the document: see {@link QUEUE_BOARD_UNDOCUMENTED}.
 */
export const QUEUE_BOARD_PATHS: PathsObject = {
  [`${QUEUE_BOARD_PATH}/login`]: {
    get: {
      tags: ['queue-board'],
      operationId: 'QueueBoard_loginForm',
      summary: 'The login form of the queue dashboard',
      responses: { 200: { description: 'An HTML form asking for the admin secret.', content: HTML } },
    },
    post: {
      tags: ['queue-board'],
      operationId: 'QueueBoard_logIn',
      summary: 'Checks the admin secret and sets the HttpOnly session cookie',
      requestBody: {
        required: true,
        content: Object.fromEntries(
          ['application/x-www-form-urlencoded', 'application/json'].map((type) => [
            type,
            { schema: { type: 'object', required: ['admin_secret'], properties: { admin_secret: { type: 'string' } } } },
          ]),
        ),
      },
      responses: {
        303: {
          description: 'Logged in: redirected to the dashboard with the session cookie set.',
          headers: { 'Set-Cookie': { schema: { type: 'string' } }, Location: { schema: { type: 'string' } } },
        },
        400: { description: 'No `admin_secret` in the body.', content: ERROR },
        401: { description: 'The admin secret is wrong.', content: ERROR },
        413: { description: 'The body is larger than BODY_LIMIT_BYTES.', content: ERROR },
        415: { description: 'The body is neither a form nor JSON.', content: ERROR },
      },
    },
  },
  [QUEUE_BOARD_PATH]: {
    get: {
      tags: ['queue-board'],
      operationId: 'QueueBoard_dashboard',
      summary: 'Bull Board: every durable queue, its jobs by state, retry and clean',
      security: [{ adminSecretHeader: [] }, { queueBoardSession: [] }],
      responses: {
        200: { description: 'The dashboard page.', content: HTML },
        400: { description: 'A NUL character (`\\u0000`, `%00`) in the query or the path; the body says where.', content: ERROR },
        401: { description: `No or a wrong admin secret (\`${ADMIN_SECRET_HEADER}\` or the session cookie).`, content: ERROR },
        404: { description: 'Embedded mode (no Redis): no durable queue to show; the body says so.', content: ERROR },
      },
    },
  },
};

/** Routes under the dashboard that the document leaves out, and why. */
export const QUEUE_BOARD_UNDOCUMENTED = {
  prefix: `${QUEUE_BOARD_PATH}/`,
  reason: "Bull Board's own JSON API and static files behind the dashboard: its contract, not this service's",
} as const;
