/** Small shared pieces: hash routing, loading state and polling. */
import { useEffect, useState } from "preact/hooks";

/** Pages live in the fragment, so the server only ever serves `/`. */
export function navigate(hash: string): void {
  location.hash = hash;
}

export function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

export interface Loaded<T> {
  value?: T;
  error?: string;
  reload(): void;
}

/**
 * Loads `load()` when `deps` change and, with `everyMs`, again on that
 * interval while the tab is visible (live status without a socket).
 */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [state, setState] = useState<{ value?: T; error?: string }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      load()
        .then(
          (value) => live && setState({ value }),
          (err: unknown) =>
            live && setState((s) => ({ ...s, error: err instanceof Error ? err.message : String(err) })),
        )
        .finally(() => {
          if (live && everyMs) timer = setTimeout(run, document.hidden ? everyMs * 5 : everyMs);
        });
    };
    run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

// One formatter for every date: Date.toLocaleString builds a new one per call,
// which alone costs most of a second on a table of 2,000 rows.
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : DATE_TIME.format(d);
}
