import { defineErrors } from '@granary/errors';

/** The closed list of errors of @granary/notification-meters. */
export const notificationMeterErrors = defineErrors({
  NOTIFICATION_METERS_DEFINITIONS_INVALID: {
    message: 'The meter definitions file cannot be used',
    status: 500,
    retriable: false,
  },
  NOTIFICATION_METERS_PATH_SYNTAX: {
    message: 'JSONPath expression cannot be parsed',
    status: 400,
    retriable: false,
  },
  NOTIFICATION_METERS_NOT_A_NOTIFICATION: {
    message: 'Not an oslo.messaging notification',
    status: 400,
    retriable: false,
  },
  NOTIFICATION_METERS_DEFINITION_FAILED: {
    message: 'A meter definition failed on this notification',
    status: 400,
    retriable: false,
  },
});

export type NotificationMeterErrorCode = (typeof notificationMeterErrors.codes)[number];
