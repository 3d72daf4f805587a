import { defineErrors } from '@granary/errors';

/** Kafka failures Granary tells apart. Retriable ones are worth the same call again after a pause. */
export const kafkaErrors = defineErrors({
  KAFKA_UNAVAILABLE: { message: 'Kafka cluster is unavailable', status: 503, retriable: true },
  KAFKA_REQUEST_FAILED: { message: 'Kafka refused the request', status: 500, retriable: false },
  KAFKA_PRODUCER_BUFFER_FULL: {
    message: 'Producer buffer stayed full for longer than maxBlockMs',
    status: 503,
    retriable: true,
  },
  KAFKA_PRODUCER_CLOSED: { message: 'Producer is closed', status: 503, retriable: false },
  KAFKA_TOPIC_PROVISIONING_FAILED: { message: 'Topic provisioning failed', status: 500, retriable: false },
  KAFKA_HANDLER_FAILED: {
    message: 'Record handler failed with an error that has no code',
    status: 500,
    retriable: false,
  },
});

export type KafkaErrorCode = (typeof kafkaErrors.codes)[number];
