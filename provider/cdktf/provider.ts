/**
 * `CodesphereProvider`: the provider binding (`provider "codesphere" {}`),
 * installed from the local mirror that `landform tools` writes
 * (`landform.local/landform/codesphere`).
 */
import { TerraformProvider } from "cdktf";
import type { Construct } from "constructs";
import { PROVIDER_SOURCE } from "../terraform/address";
import { defined, definedHcl, hclNumber, hclString } from "./hcl";

export interface CodesphereProviderProps {
  /** Public API root, e.g. `https://codesphere.com/api`. Default: environment `CS_API`. */
  readonly apiUrl?: string;
  /** API token. Default: environment `CS_TOKEN`. Prefer the environment: a token written here lands in cdktf.out. */
  readonly token?: string;
  /** Team of resources that set no `teamId`. Default: environment `CS_TEAM_ID`. */
  readonly teamId?: number;
  /** Alias, to use several configurations (teams, platforms) in one stack. */
  readonly alias?: string;
}

export class CodesphereProvider extends TerraformProvider {
  static readonly tfResourceType = "codesphere";
  readonly props: CodesphereProviderProps;

  constructor(scope: Construct, id: string, props: CodesphereProviderProps = {}) {
    super(scope, id, {
      terraformResourceType: CodesphereProvider.tfResourceType,
      // cdktf deploy needs a version constraint; any version the mirror holds will do.
      terraformGeneratorMetadata: { providerName: "codesphere", providerVersionConstraint: ">= 0.1.0" },
      terraformProviderSource: PROVIDER_SOURCE,
    });
    this.props = props;
    this.alias = props.alias;
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return defined({
      api_url: this.props.apiUrl,
      token: this.props.token,
      team_id: this.props.teamId,
      alias: this.alias,
    });
  }

  protected override synthesizeHclAttributes(): Record<string, unknown> {
    return definedHcl({
      api_url: hclString(this.props.apiUrl),
      token: hclString(this.props.token),
      team_id: hclNumber(this.props.teamId),
      alias: hclString(this.alias),
    });
  }
}
