export { startAdminServer } from './src/admin-server.ts';
export type { AdminServer, AdminServerOptions, AdminTarget, Probe } from './src/admin-server.ts';
export { noInstruments } from './src/instruments.ts';
export type {
  Counter,
  CounterReading,
  Gauge,
  GaugeSpec,
  Histogram,
  HistogramSpec,
  InstrumentSpec,
  Instruments,
  LabelValues,
} from './src/instruments.ts';
export { createLogger } from './src/logger.ts';
export type { Logger } from './src/logger.ts';
export { createRegistry, prometheusInstruments } from './src/metrics.ts';
export type { Registry } from './src/metrics.ts';
export { runService } from './src/service.ts';
export type { RunningApp, ServiceConfig, ServiceDefinition, ServiceHost } from './src/service.ts';
