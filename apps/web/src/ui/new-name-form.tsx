import { type FormEvent, useState } from 'react';

import { ErrorNotice } from './error-notice';

/** The mutation that creates the thing from its name (what `useMutation` returns). */
interface CreateByName {
  mutate: (name: string, options?: { onSuccess?: () => void }) => void;
  isPending: boolean;
  error: Error | null;
}

/**
 * The toolbar form that creates a thing from just its name (a user group, a device group): the name is
 * trimmed, an empty one cannot be sent, and the field empties once the api has created it.
 */
export function NewNameForm({
  label,
  submitLabel,
  create,
}: {
  /** "New device group" */
  label: string;
  /** "Create device group" */
  submitLabel: string;
  create: CreateByName;
}) {
  const [name, setName] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() !== '') create.mutate(name.trim(), { onSuccess: () => setName('') });
  };
  return (
    <>
      <form className="toolbar" onSubmit={submit}>
        <label className="grow">
          {label}
          <input value={name} onChange={(event) => setName(event.target.value)} maxLength={128} />
        </label>
        <button type="submit" className="button-primary" disabled={create.isPending || name.trim() === ''}>
          {submitLabel}
        </button>
      </form>
      {create.error !== null && <ErrorNotice error={create.error} title="Not created" />}
    </>
  );
}
