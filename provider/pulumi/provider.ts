/**
 * The dynamic provider object Pulumi serializes into every ManagedService's
 * state (`__provider`). Pulumi captures module-scope values by value and
 * local modules deeply, so this object holds nothing but thin functions and
 * one string: the absolute path of ./implementation, which each call
 * `require`s in the provider process. The real code therefore lives in an
 * ordinary module (zod schemas, clients, caches work as usual) and the
 * serialized text stays a few hundred bytes.
 *
 * The path is resolved when the program loads this module, so a stack runs
 * the implementation of the landform it was deployed with; an older state's
 * provider is replaced by the current one at the next `pulumi up`.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as implementation from "./implementation";

const IMPLEMENTATION = require.resolve("./implementation");

function load(): typeof implementation {
  return require(IMPLEMENTATION);
}

export const managedServiceProvider: pulumi.dynamic.ResourceProvider = {
  check: (olds, news) => load().check(olds, news),
  diff: (id, olds, news) => load().diff(id, olds, news),
  create: (inputs) => load().create(inputs),
  read: (id, props) => load().read(id, props),
  update: (id, olds, news) => load().update(id, olds, news),
  delete: (id, props) => load().remove(id, props),
};
