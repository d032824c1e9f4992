/**
 * The handlers of landform's provider (`landform/codesphere`): its managed
 * service resource and catalog data source on the generic provider. One
 * place for what a plugin process (./main) and a resident session
 * (./resident) serve.
 */
import { catalogDataSource } from "./catalog-data-source";
import type { Log } from "./log";
import { managedServiceResource } from "./managed-service";
import { createProvider } from "./provider";

export function landformProvider(options: { env?: NodeJS.ProcessEnv; log?: Log } = {}) {
  return createProvider({
    resources: [managedServiceResource()],
    dataSources: [catalogDataSource()],
    ...options,
  });
}
