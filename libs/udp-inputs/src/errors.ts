import { defineErrors } from '@granary/errors';

/** The closed list of errors of @granary/udp-inputs. */
export const udpInputErrors = defineErrors({
  UDP_INPUTS_MALFORMED_DATAGRAM: { message: 'Malformed datagram', status: 400, retriable: false },
  UDP_INPUTS_LISTEN_FAILED: { message: 'Cannot listen on the UDP address', status: 500, retriable: false },
});

export type UdpInputErrorCode = (typeof udpInputErrors.codes)[number];
