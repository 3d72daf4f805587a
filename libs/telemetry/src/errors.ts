import { defineErrors } from '@granary/errors';

/** The closed list of errors of @granary/telemetry. */
export const telemetryErrors = defineErrors({
  TELEMETRY_EXPRESSION_SYNTAX: { message: 'Expression cannot be parsed', status: 400, retriable: false },
  TELEMETRY_EXPRESSION_FAILED: { message: 'Expression failed', status: 400, retriable: false },
  TELEMETRY_EXPRESSION_LIMIT: {
    message: 'Expression exceeded its resource limits',
    status: 400,
    retriable: false,
  },
  TELEMETRY_INVALID_SAMPLE: { message: 'Invalid sample', status: 400, retriable: false },
  TELEMETRY_PLACEHOLDER_SECRET: {
    message: 'Telemetry secret is the public placeholder',
    status: 500,
    retriable: false,
  },
  TELEMETRY_TOO_DEEP: { message: 'Value nested too deep', status: 400, retriable: false },
});

export type TelemetryErrorCode = (typeof telemetryErrors.codes)[number];
