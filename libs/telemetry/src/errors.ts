import { defineErrors } from '@granary/errors';

/** The closed list of errors of @granary/telemetry. */
export const telemetryErrors = defineErrors({
  TELEMETRY_INVALID_SAMPLE: { message: 'Invalid sample', status: 400, retriable: false },
  TELEMETRY_PLACEHOLDER_SECRET: {
    message: 'Telemetry secret is the public placeholder',
    status: 500,
    retriable: false,
  },
  TELEMETRY_TOO_DEEP: { message: 'Value nested too deep', status: 400, retriable: false },
});

export type TelemetryErrorCode = (typeof telemetryErrors.codes)[number];
