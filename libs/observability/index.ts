export { startAdminServer } from './src/admin-server.ts';
export type { AdminServer, AdminServerOptions, AdminTarget, Probe } from './src/admin-server.ts';
export { noInstruments } from './src/instruments.ts';
export type {
  CounterReading,
  GaugeSpec,
  HistogramSpec,
  InstrumentSpec,
  Instruments,
  LabelValues,
} from './src/instruments.ts';
export { createLogger } from './src/logger.ts';
export type { Logger } from './src/logger.ts';
export { createRegistry, prometheusInstruments } from './src/metrics.ts';
// Until every lib emits through the port.
export { Counter, Gauge, Histogram } from 'prom-client';
export { Registry } from './src/metrics.ts';
export { runService } from './src/service.ts';
export type { RunningApp, ServiceConfig, ServiceDefinition, ServiceHost } from './src/service.ts';
