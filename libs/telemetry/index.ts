/** Public surface of @granary/telemetry: Ceilometer's sample model, signing and expression language. */
export { MAX_METADATA_DEPTH, assertBoundedDepth } from './src/depth.ts';
export { telemetryErrors } from './src/errors.ts';
export type { TelemetryErrorCode } from './src/errors.ts';
export { DEFAULT_EXPRESSION_LIMITS, compileExpression } from './src/expression/index.ts';
export type { Expression, ExpressionLimits } from './src/expression/index.ts';
export { PyFloat, compareCodePoints, pyFloatRepr, pyRepr, pyStr } from './src/python-repr.ts';
export type { PyDict, PyValue } from './src/python-repr.ts';
export { meterMessage, signSample, toCeilometerTimestamp, verifySample } from './src/sample.ts';
export type { UnsignedSample } from './src/sample.ts';
export { PLACEHOLDER_TELEMETRY_SECRET, checkTelemetrySecret } from './src/secret.ts';
export { computeSignature, recursiveKeypairs, verifySignature } from './src/signing.ts';
