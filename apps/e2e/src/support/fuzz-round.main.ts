import { parsePublicKeyFile } from '@switchboard/crypto';

import { fuzzRound, type RoundRequest } from './fuzz-round';

// Child-process entry of fuzzRoundInChild: a RoundRequest as JSON on stdin, the RoundResult as JSON
// on stdout.

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += (chunk as Buffer).toString();
  const request = JSON.parse(input) as RoundRequest;
  const result = await fuzzRound(request, parsePublicKeyFile(request.key));
  process.stdout.write(JSON.stringify(result));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
