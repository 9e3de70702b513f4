import { createSocket } from 'node:dgram';

// The bench's reference server: the least a Node UDP server can do per datagram (receive it, send
// it back), with the same socket defaults as the signal's. Prints its port once bound; stops on
// SIGTERM.

const socket = createSocket('udp4');
socket.on('message', (datagram, remote) => socket.send(datagram, remote.port, remote.address));
socket.on('error', (error) => {
  process.stderr.write(`udp echo: ${error.message}\n`);
  process.exit(1);
});
socket.bind(0, '127.0.0.1', () => process.stdout.write(`${socket.address().port}\n`));
process.once('SIGTERM', () => socket.close(() => process.exit(0)));
