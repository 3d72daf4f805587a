/** Public surface of @granary/polling: polling.yaml, meter matching, the scheduler and the pollsters. */
export { loadPollingConfig, parsePollingConfig } from './src/config.ts';
export type { PollingConfig, PollingSource } from './src/config.ts';
export { pollingErrors } from './src/errors.ts';
export type { PollingErrorCode } from './src/errors.ts';
export { MeterFilter, fnmatchToRegExp, meterListProblem } from './src/meters.ts';
export { createPollingMetrics } from './src/metrics.ts';
export type { PollingMetrics } from './src/metrics.ts';
export { cachedRead } from './src/model.ts';
export type { Discovery, PollContext, PolledSample, Pollster } from './src/model.ts';
export {
  LibvirtClient,
  NOVA_METADATA_NAMESPACE,
  parseBlockInfo,
  parseCpuTimeNs,
  parseDomainXml,
  parseRawDomainStats,
  parseStatLines,
} from './src/libvirt.ts';
export type { DomainDescription, LibvirtClientOptions, NovaMetadata } from './src/libvirt.ts';
export {
  COMPUTE_METER_NAMES,
  computeSamples,
  createComputePollsters,
  domainCpuTimeNs,
  instanceMetadata,
  localInstancesDiscovery,
  readCompute,
  vnicResourceId,
} from './src/pollsters/compute.ts';
export type { ComputeOptions, InstanceReading } from './src/pollsters/compute.ts';
export { HOST_METER_NAMES, createHostPollsters, localNodeDiscovery } from './src/pollsters/host.ts';
export type { HostPollsterOptions } from './src/pollsters/host.ts';
export { createPrometheusPollster, parsePrometheusText } from './src/pollsters/prometheus.ts';
export type { PrometheusPollsterOptions } from './src/pollsters/prometheus.ts';
export {
  compileAttributePath,
  createDynamicPollster,
  endpointDiscovery,
  parseDynamicPollsterDefinitions,
  readAttribute,
  urlDiscovery,
} from './src/pollsters/dynamic.ts';
export type { AttributePath, DynamicPollsterDefinition } from './src/pollsters/dynamic.ts';
export {
  DEFAULT_SNMP_DEFINITIONS,
  createSnmpPollsters,
  defaultSnmpDefinitions,
  parseSnmpDefinitions,
  parseSnmpUrl,
} from './src/pollsters/snmp.ts';
export type { SnmpMeterDefinition, SnmpPollsterOptions } from './src/pollsters/snmp.ts';
export { PollingScheduler } from './src/scheduler.ts';
export type { PolledBatch, SchedulerOptions } from './src/scheduler.ts';
