/**
 * What every resource of the client shares: sending a request through the
 * transport and parsing its answer with the contract, and checking a
 * request's parts before it leaves. Apart from the resources (./resources.ts)
 * so each of them reads as the list of its endpoints.
 */
import type { z } from "zod";
import { formatIssues, RequestValidationError, ResponseValidationError } from "./errors";
import type { HttpRequest, RequestOptions, Transport } from "./transport";

/** Sends through the transport and parses answers with the contract. */
export class ApiCore {
  readonly #transport: Transport;
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async json<S extends z.ZodType>(
    req: HttpRequest,
    schema: S,
    options?: RequestOptions,
  ): Promise<z.output<S>> {
    const res = await this.#transport.request(req, options);
    let data: unknown;
    try {
      data = JSON.parse(res.text);
    } catch {
      const snippet = res.text.trim().slice(0, 120);
      throw new ResponseValidationError(
        req.operation,
        [{ path: "(body)", message: snippet === "" ? "is empty, expected JSON" : `is not JSON: ${snippet}` }],
        res.status,
        res.text,
      );
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new ResponseValidationError(
        req.operation,
        formatIssues(parsed.error.issues, data),
        res.status,
        res.text,
      );
    }
    return parsed.data;
  }

  /** For operations answered with 200 or 204 and no meaningful body. */
  async empty(req: HttpRequest, options?: RequestOptions): Promise<void> {
    await this.#transport.request(req, options);
  }
}

/** Parses `value` with `schema` or throws a `RequestValidationError`. Never echoes values (they may be secrets). */
export function validate<S extends z.ZodType>(operation: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RequestValidationError(operation, formatIssues(parsed.error.issues));
  return parsed.data;
}

export function enc(segment: string): string {
  return encodeURIComponent(segment);
}
