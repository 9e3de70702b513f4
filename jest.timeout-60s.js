// End-to-end tests start whole services.
jest.setTimeout(60_000);
