/**
 * A floor for bench/terraform-apply.ts: landform's plugin runtime (bundle,
 * go-plugin handshake, mutual TLS, gRPC, msgpack values) serving one resource
 * type, `codesphere_noop`, that calls no API and keeps nothing but its name.
 * Beside `terraform_data` (built into Terraform, no plugin at all) it shows
 * what any Node.js plugin pays for Terraform's process per phase; beside the
 * real provider, what the API work adds on top.
 *
 * Bench-only: the benchmark bundles this file itself, into a temp folder.
 */
import { HandshakeError, servePlugin } from "../../provider/terraform/plugin";
import { providerMethods } from "../../provider/terraform/protocol";
import { createProvider, type ResourceHandler, type TfObject } from "../../provider/terraform/provider";
import { UNKNOWN } from "../../provider/terraform/values";

const noop: ResourceHandler = {
  typeName: "codesphere_noop",
  schema: {
    version: 0,
    block: {
      attributes: [
        { name: "id", type: "string", computed: true, description: "The name." },
        { name: "name", type: "string", required: true, description: "Any name." },
      ],
    },
  },
  validate: () => [],
  plan: async (req) => {
    if (!req.proposed) return { planned: null };
    const id = req.prior?.id ?? UNKNOWN;
    return { planned: { ...req.proposed, id } };
  },
  apply: async (req) => {
    if (!req.planned) return { newState: null };
    return { newState: { ...req.planned, id: req.planned.name } as TfObject };
  },
  read: async (state) => ({ newState: state }),
  importState: async (id) => ({ id, name: id }),
};

async function main(): Promise<void> {
  process.on("SIGINT", () => {});
  await servePlugin(providerMethods, createProvider({ resources: [noop], dataSources: [] }));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof HandshakeError ? error.message : String(error)}\n`);
  process.exit(1);
});
