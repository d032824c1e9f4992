/**
 * `POST /_landform/clock {"advanceMs": N}` (only with `landform serve
 * --test-clock`): moves the control plane's clock forward, for tests of
 * schedules, backoff and retention. Time is one for the whole process, every
 * team's services included, so only an admin token may move it (as for global
 * providers, docs/authorization.md); `{}` reads the clock without moving it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DomainError } from "../domain/types";
import { authenticate, type TokenTable } from "./auth";
import { CLIENT_GONE, readBody } from "./body";
import { PROBLEM_CONTENT_TYPE, problemJson } from "./problems";
import { newTraceId } from "./server";

export const TEST_CLOCK_PATH = "/_landform/clock";

/** The largest step: a year, so that a typo cannot overflow the clock. */
const MAX_ADVANCE_MS = 366 * 24 * 3600 * 1000;

export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export async function handleTestClock(
  req: IncomingMessage,
  res: ServerResponse,
  tokens: TokenTable,
  clock: TestClock,
): Promise<void> {
  const traceId = newTraceId();
  const problem = (status: number, title: string, detail: string) => {
    res.writeHead(status, { "content-type": PROBLEM_CONTENT_TYPE });
    res.end(problemJson(status, title, detail, traceId));
  };
  const auth = authenticate(tokens, req.headers.authorization);
  if ("refused" in auth) return problem(401, "Unauthorized", auth.refused);
  if (!auth.grant.admin)
    return problem(403, "Forbidden", "moving the clock needs an admin token: it moves every team's time");
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (error) {
    if (error === CLIENT_GONE) return;
    if (error instanceof DomainError) return problem(error.status, error.title, error.detail);
    throw error;
  }
  let advanceMs: unknown = 0;
  try {
    const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    advanceMs = (parsed as { advanceMs?: unknown }).advanceMs ?? 0;
  } catch {
    return problem(400, "Bad Request", 'body: expected a JSON object like {"advanceMs": 60000}');
  }
  if (
    typeof advanceMs !== "number" ||
    !Number.isInteger(advanceMs) ||
    advanceMs < 0 ||
    advanceMs > MAX_ADVANCE_MS
  ) {
    return problem(422, "Unprocessable Entity", `advanceMs: expected an integer from 0 to ${MAX_ADVANCE_MS}`);
  }
  if (advanceMs > 0) clock.advance(advanceMs);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ now: new Date(clock.now()).toISOString() }));
}
