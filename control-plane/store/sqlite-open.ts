/**
 * Every SQLite database of landform is opened here, so that one setting
 * reaches them all: LANDFORM_SQLITE_BINDING names a better-sqlite3 native
 * binding compiled for the running Node.js, for a process that runs on
 * another Node than the one the package was installed under (the CI matrix
 * on Node 22 and 24, cli/node-runtimes.ts). Unset, better-sqlite3 finds its
 * own build.
 */
import Database from "better-sqlite3";

export function openSqlite(file: string, options: Database.Options = {}): Database.Database {
  const nativeBinding = process.env.LANDFORM_SQLITE_BINDING;
  return new Database(file, nativeBinding ? { ...options, nativeBinding } : options);
}

/** Prepares each SQL text once and keeps the statement: preparing per call costs more than running. */
export function preparedStatements(db: Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
}
