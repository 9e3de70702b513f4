// Integration tests: real processes, databases and sockets on a loaded 2-core machine.
jest.setTimeout(30_000);
