import { BadRequestException, HttpException, ServiceUnavailableException } from '@nestjs/common';

import { toErrorResponse } from './error-response';

describe('toErrorResponse', () => {
  it('keeps the status and message of an HttpException, including validation lists', () => {
    expect(
      toErrorResponse(new BadRequestException(['name is required', 'age must be a number']), 'r1'),
    ).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: ['name is required', 'age must be a number'],
      requestId: 'r1',
    });
    expect(toErrorResponse(new ServiceUnavailableException('draining'), 'r2')).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'draining',
    });
    expect(toErrorResponse(new HttpException('slow down', 429), 'r3')).toMatchObject({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'slow down',
    });
  });

  it('never repeats the text of a JSON.parse error, which quotes the body', () => {
    const parseError = Object.assign(
      new SyntaxError('Unexpected token, "{"password":"hunter2" is not valid JSON'),
      {
        statusCode: 400,
      },
    );
    expect(toErrorResponse(parseError, 'r')).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Request body is not valid JSON',
      requestId: 'r',
    });
  });

  it("passes Fastify's fixed framework messages through, but not other errors' text", () => {
    const fastifyError = Object.assign(new Error('Request body is too large'), {
      name: 'FastifyError',
      statusCode: 413,
    });
    expect(toErrorResponse(fastifyError, 'r').message).toBe('Request body is too large');
    const otherClientError = Object.assign(new Error('user 42 at 10.0.0.7 is weird'), { statusCode: 422 });
    expect(toErrorResponse(otherClientError, 'r')).toMatchObject({
      statusCode: 422,
      message: 'Unprocessable Entity',
    });
  });

  it('maps anything else, including a 5xx statusCode or a thrown string, to a bare 500', () => {
    const internal = {
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      requestId: 'r',
    };
    expect(toErrorResponse(new Error('SELECT * FROM users failed'), 'r')).toEqual(internal);
    expect(toErrorResponse(Object.assign(new Error('db down'), { statusCode: 503 }), 'r')).toEqual(internal);
    expect(toErrorResponse('a string', 'r')).toEqual(internal);
  });
});
