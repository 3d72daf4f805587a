/** Public surface of @granary/telemetry: Ceilometer's sample model and its signing. */
export { MAX_METADATA_DEPTH, assertBoundedDepth } from './src/depth.ts';
export { telemetryErrors } from './src/errors.ts';
export type { TelemetryErrorCode } from './src/errors.ts';
export { meterMessage, signSample, toCeilometerTimestamp, verifySample } from './src/sample.ts';
export type { UnsignedSample } from './src/sample.ts';
export { PLACEHOLDER_TELEMETRY_SECRET, checkTelemetrySecret } from './src/secret.ts';
export { computeSignature, recursiveKeypairs, verifySignature } from './src/signing.ts';
