/** Public surface of @granary/notification-meters: Ceilometer's meters.yaml over OpenStack notifications. */
export { parseMeterDefinitions } from './src/definitions.ts';
export type { MeterDefinition, MeterDefinitions } from './src/definitions.ts';
export { notificationMeterErrors } from './src/errors.ts';
export type { NotificationMeterErrorCode } from './src/errors.ts';
export { compileJsonPath } from './src/jsonpath.ts';
export type { JsonPath } from './src/jsonpath.ts';
export { NotificationMeters } from './src/meters.ts';
export type { MeteringOutcome } from './src/meters.ts';
export { decodeNotification } from './src/notification.ts';
export type { Notification } from './src/notification.ts';
