import nacl from 'tweetnacl';

import { IdPk } from '@switchboard/protocol';

import { asBuffer } from './bytes';
import { signCombined } from './ed25519-sign';
import { PUBLIC_KEY_BYTES, type IdentityKeyPair } from './identity-key';

// The signed peer key (docs/protocol.md §4; rustdesk-server src/rendezvous_server.rs get_pk, client
// src/common.rs decode_id_pk): nacl.sign over an encoded IdPk, in NaCl's combined form (64-byte
// signature, then the message). hbbs puts it in PunchHoleResponse.pk and RelayResponse.pk; peers
// use the same shape in Message.signed_id, signing their box key with their own Ed25519 key.

export interface VerifiedIdPk {
  readonly id: string;
  /** Always 32 bytes: the client refuses any other length. */
  readonly pk: Buffer;
}

/** Signs `IdPk{id, pk}`; `pk` is whatever the peer registered, passed on unchecked as hbbs does. */
export function signIdPk(id: string, pk: Uint8Array, signingKeyPair: IdentityKeyPair): Buffer {
  const message = IdPk.encode({ id, pk: asBuffer(pk) }).finish();
  return signCombined(message, signingKeyPair.secretKey);
}

/**
 * What a client does with a signed IdPk: undefined unless the signature verifies under `publicKey`,
 * the payload is an IdPk and its pk has 32 bytes. Comparing the id with the one dialled is the caller's job.
 */
export function verifySignedIdPk(signed: Uint8Array, publicKey: Uint8Array): VerifiedIdPk | undefined {
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new RangeError(`public key must be ${PUBLIC_KEY_BYTES} bytes (got ${publicKey.length})`);
  }
  const message = nacl.sign.open(signed, publicKey);
  if (message === null) return undefined;
  let idPk: IdPk;
  try {
    idPk = IdPk.decode(message);
  } catch {
    // Signed but not an IdPk: only a server or peer with a broken encoder sends this.
    return undefined;
  }
  return idPk.pk.length === PUBLIC_KEY_BYTES ? { id: idPk.id, pk: idPk.pk } : undefined;
}
