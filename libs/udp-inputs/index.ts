/** Public surface of @granary/udp-inputs: Ceilometer's udp:// publisher and Gnocchi's statsd protocol. */
export { udpInputErrors } from './src/errors.ts';
export type { UdpInputErrorCode } from './src/errors.ts';
export { listenUdp } from './src/listener.ts';
export type { UdpListener } from './src/listener.ts';
export { decodeSampleDatagram } from './src/msgpack.ts';
export { StatsdAggregator, parseStatsdDatagram } from './src/statsd.ts';
export type { ParsedDatagram, StatsdLine, StatsdMeasure, StatsdProblem, StatsdType } from './src/statsd.ts';
