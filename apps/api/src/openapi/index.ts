export { installApiDocs } from './api-docs';
export { buildOpenApiDocument, DOCS_PATH, OPENAPI_JSON_PATH, UNDOCUMENTED_ROUTES } from './openapi-document';
export { generateOpenApiDocument } from './write-openapi';
