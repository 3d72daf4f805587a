import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { udpInputErrors } from './errors.ts';

export interface UdpListener {
  /** The bound address (the port is the real one when 0 was asked). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A UDP socket handing every datagram to `onDatagram`, which must not throw (a datagram's problem
 * is counted where it is read). A socket error after the bind goes to `onError`; the socket stays.
 */
export function listenUdp(
  host: string,
  port: number,
  onDatagram: (datagram: Buffer) => void,
  onError: (error: Error) => void,
): Promise<UdpListener> {
  const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    const failed = (cause: Error) =>
      reject(udpInputErrors('UDP_INPUTS_LISTEN_FAILED', `${host}:${port}: ${cause.message}`, { cause }));
    socket.once('error', failed);
    socket.bind(port, host, () => {
      socket.off('error', failed);
      socket.on('error', onError);
      socket.on('message', (datagram) => onDatagram(datagram));
      const address = socket.address();
      resolve({
        host: address.address,
        port: address.port,
        close: () => new Promise((done) => socket.close(() => done())),
      });
    });
  });
}
