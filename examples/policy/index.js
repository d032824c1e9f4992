// @ts-check
/**
 * The landform policy pack for Codesphere managed services, ready to use:
 *
 *   npm run build
 *   pulumi preview --policy-pack examples/policy [--policy-pack-config my-policy-config.json]
 *
 * The policies and their settings are described in docs/policy.md. In a pack
 * of your own (a folder with PulumiPolicy.yaml `runtime: nodejs`, a
 * package.json with a version, and landform installed), this file is
 *
 *   require("landform/policy").landformPolicyPack("landform", { config: { ... } });
 *
 * Here it loads the package built from this repository.
 */
const { landformPolicyPack } = require("../../dist/provider/policy");

landformPolicyPack("landform");
