import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import Database from 'better-sqlite3';
import { applyMigrations, findMigrationsDir } from './migrator';

/**
 * The migrations are hand-written SQL (the Prisma CLI cannot migrate on every machine), so this
 * proves they build exactly the database `schema.prisma` describes: the same tables, columns,
 * types, nullability, primary keys, defaults and named indexes, and nothing more.
 */
interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: string;
  type: string;
  isRequired: boolean;
  isId: boolean;
  hasDefaultValue: boolean;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string;
  fields: { name: string }[];
}
interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

const SQLITE_TYPES: Record<string, string> = { String: 'TEXT', Int: 'INTEGER' };

const schemaPath = path.join(findMigrationsDir(), '..', 'schema.prisma');
const dmmf = JSON.parse(
  get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', fs.readFileSync(schemaPath, 'utf8')]] })),
) as { datamodel: { models: DmmfModel[]; indexes: DmmfIndex[] } };

const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'schema-agreement-')), 'shared.sqlite3');
applyMigrations(file);
const db = new Database(file, { readonly: true });
afterAll(() => db.close());

const columnName = (field: DmmfField) => field.dbName ?? field.name;

describe('prisma/migrations agree with schema.prisma', () => {
  it('declares the same tables', () => {
    const sqlTables = db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != '_prisma_migrations' ORDER BY name",
      )
      .all()
      .map((row) => row.name);
    expect(sqlTables).toEqual(dmmf.datamodel.models.map((model) => model.dbName ?? model.name).sort());
  });

  describe.each(dmmf.datamodel.models.map((model) => [model.name, model] as const))('model %s', (_name, model) => {
    const table = model.dbName ?? model.name;
    const columns = db.prepare<[], ColumnInfo>(`PRAGMA table_info("${table}")`).all();

    it('has exactly the columns of the model', () => {
      expect(columns.map((column) => column.name).sort()).toEqual(model.fields.map(columnName).sort());
    });

    it.each(model.fields.map((field) => [field.name, field] as const))('column for %s matches', (_field, field) => {
      const column = columns.find((candidate) => candidate.name === columnName(field));
      expect(column).toBeDefined();
      expect({
        type: column!.type,
        required: column!.notnull === 1,
        primaryKey: column!.pk > 0,
        hasDefault: column!.dflt_value !== null || (column!.pk > 0 && column!.type === 'INTEGER'),
      }).toEqual({
        type: SQLITE_TYPES[field.type],
        required: field.isRequired,
        primaryKey: field.isId,
        hasDefault: field.hasDefaultValue,
      });
    });
  });

  it('has exactly the named indexes of the schema, with the same columns and uniqueness', () => {
    const columnOf = (modelName: string, fieldName: string) => {
      const model = dmmf.datamodel.models.find((candidate) => candidate.name === modelName)!;
      return columnName(model.fields.find((field) => field.name === fieldName)!);
    };
    const declared = dmmf.datamodel.indexes
      .filter((index) => index.type === 'unique' || index.type === 'normal')
      .map((index) => ({
        name: index.dbName,
        unique: index.type === 'unique',
        columns: index.fields.map((field) => columnOf(index.model, field.name)),
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));

    const actual = db
      .prepare<[], { name: string; tbl_name: string }>(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
      )
      .all()
      .map(({ name, tbl_name }) => ({
        name,
        unique: db
          .prepare<[], { name: string; unique: number }>(`PRAGMA index_list("${tbl_name}")`)
          .all()
          .some((entry) => entry.name === name && entry.unique === 1),
        columns: db
          .prepare<[], { name: string }>(`PRAGMA index_info("${name}")`)
          .all()
          .map((column) => column.name),
      }));

    expect(actual).toEqual(declared);
  });
});
