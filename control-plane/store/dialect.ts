/** The few spellings in which SQLite and PostgreSQL differ (see store/migrations.ts). */
export interface Dialect {
  name: "sqlite" | "postgres";
  /** A column that numbers rows in insertion order. */
  serialPrimaryKey: string;
}

export const SQLITE: Dialect = { name: "sqlite", serialPrimaryKey: "INTEGER PRIMARY KEY AUTOINCREMENT" };
export const POSTGRES: Dialect = { name: "postgres", serialPrimaryKey: "BIGSERIAL PRIMARY KEY" };
