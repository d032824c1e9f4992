// The PostgreSQL starter is shared with the benchmarks and lives there (see its header).
export * from "../../bench/support/postgres";
