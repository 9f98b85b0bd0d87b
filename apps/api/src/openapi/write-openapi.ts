import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { loadConfig, type AppConfig } from '@app/config';
import { AppModule } from '../app.module';
import { buildOpenApiDocument } from './openapi-document';

/**
 * The document without running the service: the application is composed in preview mode, so no
 * provider is instantiated — no Redis or database connection, no listener, no queue worker.
 */
export async function generateOpenApiDocument(config: AppConfig): Promise<OpenAPIObject> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter(), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return buildOpenApiDocument(app, config);
  } finally {
    await app.close();
  }
}

/** `npm run openapi [-- <file>]`: writes the document to `<file>` (default `openapi.json`). */
async function main(): Promise<void> {
  const file = resolve(process.argv[2] ?? 'openapi.json');
  const document = await generateOpenApiDocument(loadConfig());
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  process.stdout.write(`Wrote the OpenAPI ${document.openapi} document (${Object.keys(document.paths).length} paths) to ${file}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
