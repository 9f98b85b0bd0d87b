import request from 'supertest';

/** `POST /agent-tools` with the test secret in `X-EL-Secret`. */
export function callTool(baseUrl: string, tool: string, args?: Record<string, unknown>): request.Test {
  return request(baseUrl)
    .post('/agent-tools')
    .set('X-EL-Secret', 'test-webhook-secret')
    .send(args === undefined ? { tool } : { tool, args });
}
