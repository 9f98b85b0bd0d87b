import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from '@app/config';
import { buildOpenApiDocument, DOCS_PATH, OPENAPI_JSON_PATH } from './openapi-document';

/**
 * Serves the document at `GET /openapi.json` and Swagger UI at `GET /docs` when `DOCS_ENABLED`.
 * Swagger UI's files come from the installed `swagger-ui-dist` package, so the page works without
 * network access; the document is built on the first request and kept. The routes are added when
 * Fastify loads its plugins, like the application's own, so `onRoute` hooks see them too.
 */
export function installApiDocs(app: NestFastifyApplication, config: AppConfig): void {
  if (!config.docs.enabled) return;
  void app.getHttpAdapter().getInstance().register(async () => {
    SwaggerModule.setup(DOCS_PATH.slice(1), app, () => buildOpenApiDocument(app, config), {
      jsonDocumentUrl: OPENAPI_JSON_PATH,
      raw: ['json'],
      customSiteTitle: `${config.app.name} API`,
      // Swagger UI would otherwise send the document to an online validator for its badge.
      swaggerOptions: { validatorUrl: null },
    });
  });
}
