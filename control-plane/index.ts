/**
 * `landform/control-plane`: the reference control plane as a library, for
 * tests and tools that want one in-process (`landform serve` wraps the same).
 */
export { type ControlPlaneOptions, type RunningControlPlane, startControlPlane } from "./app";
export { bundledCatalog } from "./backends/catalog";
export { startReferenceBackends } from "./backends/reference/index";
