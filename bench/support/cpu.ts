/**
 * CPU time of a process tree from /proc (Linux only), for idle-cost figures.
 *
 * A tree's time is, for the root and every live descendant, utime+stime plus
 * cutime+cstime (its children that exited and were reaped, theirs included).
 * Counted that way, a child that starts or ends between two samples is
 * neither lost nor counted twice: PostgreSQL's postmaster forks and reaps
 * workers (autovacuum, a backend per connection) all the time.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat times. */
export function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  return ticksPerSecond;
}

interface Stat {
  pid: number;
  ppid: number;
  self: number;
  children: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // gone between listing and reading
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
  const at = (n: number) => Number(fields[n - 3]);
  return { pid, ppid: at(4), self: at(14) + at(15), children: at(16) + at(17) };
}

/** CPU seconds the process tree under `root` has used so far (the root's reaped children included). */
export function treeCpuSeconds(root: number): number {
  const all: Stat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) throw new Error(`process ${root} is gone`);
  let ticks = rootStat.self + rootStat.children;
  const inTree = new Set([root]);
  // Parents come before children in pid order only usually: repeat until nothing is added.
  for (let added = true; added; ) {
    added = false;
    for (const s of all) {
      if (!inTree.has(s.pid) && inTree.has(s.ppid)) {
        inTree.add(s.pid);
        ticks += s.self + s.children;
        added = true;
      }
    }
  }
  return ticks / clockTicks();
}

/** Resident memory of one process in MiB (VmRSS), or NaN when it cannot be read. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
