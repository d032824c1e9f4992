/**
 * Where Terraform finds this provider. The host is under `.local`, which
 * public DNS never resolves, so the provider can only come from a local
 * mirror (see cli/terraform-mirror.ts and docs/decisions/006).
 */
export const PROVIDER_HOST = "landform.local";
export const PROVIDER_NAMESPACE = "landform";
export const PROVIDER_TYPE = "codesphere";
export const PROVIDER_SOURCE = `${PROVIDER_HOST}/${PROVIDER_NAMESPACE}/${PROVIDER_TYPE}`;
