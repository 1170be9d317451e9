import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prisma } from '@/server/db/generated/sqlite/client';
import { insertStatements, valuesTable } from '@/server/db/bulk';

/** The same statements composed the usual way, from a `Prisma.sql` template per row. */
function composedInsert(table: string, columns: string[], rows: unknown[][]): Prisma.Sql {
  const head = Prisma.raw(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES `);
  return Prisma.sql`${head}${Prisma.join(rows.map((row) => Prisma.sql`(${Prisma.join(row)})`))}`;
}

function composedValues(rows: unknown[][], types: string[]): Prisma.Sql {
  const tuples = rows.map((row, i) =>
    Prisma.sql`(${Prisma.join(row.map((value, j) => (i === 0 ? Prisma.sql`CAST(${value} AS ${Prisma.raw(types[j]!)})` : Prisma.sql`${value}`)))})`,
  );
  return Prisma.sql`(VALUES ${Prisma.join(tuples)}) AS v`;
}

const same = (a: Prisma.Sql, b: Prisma.Sql) => {
  expect(a.sql).toBe(b.sql);
  expect(a.text).toBe(b.text);
  expect(a.values).toEqual(b.values);
  expect(a.strings).toEqual(b.strings);
};

/** Values as the hot paths write them, SQL among them (an enum constant, a cast of a parameter). */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) },
  { weight: 1, arbitrary: fc.constantFrom(Prisma.raw(`'ACTIVE'`), Prisma.raw(`CAST('MATCHED' AS "ContractState")`)) },
  { weight: 1, arbitrary: fc.string().map((text) => Prisma.sql`CAST(${text} AS jsonb)`) },
);
const rowsOf = (width: number) => fc.array(fc.array(value, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 40 });

describe('multi-row statements', () => {
  it('an insert reads as the template-composed one: text for SQLite and PostgreSQL, values in order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }).chain((width) => fc.tuple(fc.constant(width), rowsOf(width))), ([width, rows]) => {
        const columns = Array.from({ length: width }, (_, i) => `c${i}`);
        const [statement, ...rest] = insertStatements('T', columns, rows);
        expect(rest).toEqual([]);
        same(statement!, composedInsert('T', columns, rows));
      }),
    );
  });

  it('a VALUES table types its columns by casts in the first row, and nests in another statement', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }).chain((width) => fc.tuple(fc.constant(width), rowsOf(width))), ([width, rows]) => {
        const types = Array.from({ length: width }, (_, i) => (['TEXT', 'INTEGER', 'BIGINT'] as const)[i % 3]!);
        same(valuesTable(rows, types), composedValues(rows, types));
        same(Prisma.sql`UPDATE "T" SET x = v.column1 FROM ${valuesTable(rows, types)} WHERE id = ${'k'}`, Prisma.sql`UPDATE "T" SET x = v.column1 FROM ${composedValues(rows, types)} WHERE id = ${'k'}`);
      }),
    );
    expect(valuesTable([['a', 1]], ['TEXT', 'INTEGER']).sql).toBe('(VALUES (CAST(? AS TEXT),CAST(? AS INTEGER))) AS v');
  });

  it('splits an insert under the parameter limit, rows whole and in order', () => {
    const columns = ['a', 'b', 'c'];
    const rows = Array.from({ length: 6_000 }, (_, i) => [i, `r${i}`, null]);
    const statements = insertStatements('T', columns, rows);
    expect(statements.map((s) => s.values.length)).toEqual([7_998, 7_998, 2_004]);
    expect(statements.flatMap((s) => s.values)).toEqual(rows.flat());
    expect(statements[2]!.sql).toBe(`INSERT INTO "T" ("a", "b", "c") VALUES ${Array(668).fill('(?,?,?)').join(',')}`);
  });

  it('refuses a row of the wrong width rather than shifting every value after it', () => {
    expect(() => insertStatements('T', ['a', 'b'], [[1, 2], [3]])).toThrow('a row of 1 values where 2 were expected');
  });
});
