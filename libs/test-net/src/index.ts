export { TcpProxy } from './tcp-proxy';
