import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { catalogDataSource } from "./catalog-data-source";
import { managedServiceResource } from "./managed-service";
import { codec, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, servePlugin } from "./plugin";
import { controllerShutdown, providerMethods } from "./protocol";
import { createProvider } from "./provider";
import { createTlsIdentity } from "./tls";

function call(client: grpc.Client, path: string, req: string, res: string, message: object) {
  return new Promise<Record<string, unknown>>((resolve, reject) =>
    client.makeUnaryRequest(
      path,
      (v: object) => codec.encode(req, v),
      (b: Buffer) => codec.decode(res, b),
      message,
      (err, value) => (err ? reject(err) : resolve(value!)),
    ),
  );
}

describe("the plugin server", () => {
  it("hands shake, serves the schema over mutual TLS, refuses other clients, and exits on Shutdown", async () => {
    const client = createTlsIdentity();
    const lines: string[] = [];
    let exited = false;
    const handlers = createProvider({
      resources: [managedServiceResource()],
      dataSources: [catalogDataSource()],
    });
    const plugin = await servePlugin(providerMethods, handlers, {
      env: {
        [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
        PLUGIN_CLIENT_CERT: client.certPem,
        PLUGIN_PROTOCOL_VERSIONS: "5,6",
      },
      out: (l) => lines.push(l),
      exit: () => {
        exited = true;
      },
    });
    const [core, version, network, address, protocol, cert] = lines[0]!.split("|");
    expect([core, version, network, protocol]).toEqual(["1", "6", "tcp", "grpc"]);
    expect(cert).not.toContain("=");
    const serverPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(cert!, "base64").toString("base64")}\n-----END CERTIFICATE-----\n`;
    const creds = grpc.credentials.createSsl(
      Buffer.from(serverPem),
      Buffer.from(client.keyPem),
      Buffer.from(client.certPem),
    );
    const conn = new grpc.Client(address!, creds, { "grpc.ssl_target_name_override": "localhost" });
    const m = providerMethods.GetProviderSchema;
    const schema = await call(conn, m.path, m.request, m.response, {});
    const resource = (
      schema.resourceSchemas as Record<
        string,
        { block: { attributes: { name: string; writeOnly?: boolean }[] } }
      >
    ).codesphere_managed_service!;
    expect(resource.block.attributes.find((a) => a.name === "secrets")?.writeOnly).toBe(true);
    expect(schema.serverCapabilities).toMatchObject({ getProviderSchemaOptional: true });

    // A client without the certificate Terraform announced is refused.
    const stranger = createTlsIdentity();
    const other = new grpc.Client(
      address!,
      grpc.credentials.createSsl(
        Buffer.from(serverPem),
        Buffer.from(stranger.keyPem),
        Buffer.from(stranger.certPem),
      ),
      { "grpc.ssl_target_name_override": "localhost" },
    );
    await expect(call(other, m.path, m.request, m.response, {})).rejects.toThrow();
    other.close();

    await call(conn, controllerShutdown.path, "Empty", "Empty", {});
    await new Promise((r) => setTimeout(r, 50));
    expect(exited).toBe(true);
    conn.close();
    await plugin.stop();
  });

  it("explains itself when started by hand", async () => {
    await expect(servePlugin(providerMethods, {}, { env: {} })).rejects.toThrow(/Terraform starts it/);
  });
});
