/**
 * A typed wrapper of the Talos provider with the module shape of `@pulumiverse/talos`.
 */
export * as client from "./client";
export * as cluster from "./cluster";
export * as imagefactory from "./imagefactory";
export * as machine from "./machine";
export { TALOS_PLUGIN_DOWNLOAD_URL, TALOS_PROVIDER_VERSION } from "./provider";
export type { ClientConfiguration } from "./provider";
