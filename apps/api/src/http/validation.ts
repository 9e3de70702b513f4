import { BadRequestException } from '@nestjs/common';
import { createZodValidationPipe } from 'nestjs-zod';
import { type ZodError } from 'zod';

/**
 * Request bodies, queries and params are zod DTOs (nestjs-zod's createZodDto). A bad request is a
 * 400 whose `message` lists every bad field as `path: problem`, so a client can fix all at once.
 */
export const ApiValidationPipe = createZodValidationPipe({
  createValidationException: (error: unknown) =>
    new BadRequestException(
      (error as ZodError).issues.map((issue) => {
        const path = issue.path.map(String).join('.');
        return path === '' ? issue.message : `${path}: ${issue.message}`;
      }),
    ),
});
