/**
 * The launcher Terraform starts for every phase of a run: a bash script that
 * asks the resident provider (provider/terraform/resident.ts) for a session,
 * starting the resident when none runs, and otherwise (or when
 * LANDFORM_PROVIDER_RESIDENT=0) runs the plugin itself: node (LANDFORM_NODE,
 * else the node that ran `landform tools`) on the built plugin.
 *
 * bash rather than sh: it lists the environment's names with `compgen`. A
 * session costs the script, one `mkfifo` and one `cat`, against a Node.js
 * start and a module load per phase without the resident. Nothing in the
 * text may change with the code, since the lock file's hash covers it.
 * Only node: builtins and dependency-free modules are used (this runs from
 * `landform tools`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { processAlive } from "../provider/core/processes";

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A default inside "${NAME:-...}": the characters double quotes give meaning to, escaped. */
function inDoubleQuotes(s: string): string {
  return s.replace(/["\\$`]/g, (c) => `\\${c}`);
}

const HEAD = `#!/usr/bin/env bash
# Written by 'landform tools': starts landform's Terraform provider (landform/codesphere).
entry=@ENTRY@
node="\${LANDFORM_NODE:-@NODE@}"
if [ ! -f "$entry" ]; then
  echo "terraform-provider-codesphere: $entry is missing; run npm run build in the landform package" >&2
  exit 1
fi
`;

const RESIDENT_SESSION = `
# Asks the resident provider in folder $1 for a session, starting the resident
# when none runs; prints the handshake line, then passes the session's log
# lines on until the session ends. Returns only when the resident cannot serve
# this session: 2 when it retired (a new one can), else 1.
session() {
  local dir="$1" pid="" line="" name started="" waited=0 out="$1/$$.out"
  while :; do
    pid=""
    [ -r "$dir/pid" ] && read -r pid <"$dir/pid"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && break
    if [ -z "$started" ]; then
      mkdir -p -m 700 "$dir" || return 1
      "$node" "$entry" --resident "$dir" </dev/null >/dev/null 2>>"$dir/resident.log" &
      started=$!
    elif [ -z "$pid" ] && ! kill -0 "$started" 2>/dev/null; then
      return 1 # it would not start (see resident.log) or another one is starting
    fi
    waited=$((waited + 1))
    [ "$waited" -le 500 ] || return 1
    sleep 0.02
  done
  rm -f "$out" && mkfifo -m 600 "$out" || return 1
  while IFS= read -r name; do printf '%s=%s\\0' "$name" "\${!name}"; done < <(compgen -e) >"$dir/$$.env"
  # Read and write, so that opening never blocks on a resident that is gone.
  exec 3<>"$out"
  printf '%s\\n' "$$" 1<>"$dir/requests"
  if IFS= read -r -t 30 line <&3 && [ "\${line#1|}" != "$line" ]; then
    exec 4<"$out" 3<&-
    printf '%s\\n' "$line"
    exec cat <&4 >&2
  fi
  exec 3<&-
  rm -f "$out" "$dir/$$.env"
  [ "$line" = retired ] && return 2
  return 1
}

if [ "\${LANDFORM_PROVIDER_RESIDENT:-1}" != 0 ] && [ -n "\${TF_PLUGIN_MAGIC_COOKIE:-}" ]; then
  umask 077
  dir="\${LANDFORM_PROVIDER_RESIDENT_DIR:-@RESIDENT@}"
  session "$dir" || { [ $? = 2 ] && session "$dir"; }
fi
`;

const RUN_PLUGIN = `exec "$node" "$entry" "$@"
`;

/**
 * The launcher's text for `node` running `entry`, with the resident in
 * `residentDir`; without one, a launcher that always runs the plugin itself
 * (for plugins that have no resident mode, such as the benchmark's no-op).
 */
export function launcherScript(node: string, entry: string, residentDir?: string): string {
  const head = HEAD.replace("@ENTRY@", () => shellQuote(entry)).replace("@NODE@", () => inDoubleQuotes(node));
  if (residentDir === undefined) return head + RUN_PLUGIN;
  return head + RESIDENT_SESSION.replace("@RESIDENT@", () => inDoubleQuotes(residentDir)) + RUN_PLUGIN;
}

/** Ends the resident provider of `residentDir`, if one runs, and waits (up to 5 s) for it to go. */
export async function stopResident(residentDir: string): Promise<void> {
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(path.join(residentDir, "pid"), "utf8").trim());
  } catch {
    return;
  }
  if (!(pid > 0)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (!processAlive(pid)) return;
  process.kill(pid, "SIGKILL");
}
