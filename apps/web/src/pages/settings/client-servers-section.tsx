import { useForm } from 'react-hook-form';

import { ErrorNotice } from '../../ui/error-notice';
import {
  CLIENT_API_SERVER_KEY,
  CLIENT_ID_SERVER_KEY,
  CLIENT_RELAY_SERVER_KEY,
  useSaveSetting,
} from './settings-api';
import { type Setting } from './settings-types';

/** host or host:port, as a RustDesk client takes it (the api checks the same: libs/events settings.ts). */
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?$/;
const HTTP_URL = /^https?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/;

interface Field {
  readonly key: string;
  readonly label: string;
  readonly help: string;
  readonly pattern: RegExp;
  readonly problem: string;
  readonly placeholder: string;
}

const FIELDS: readonly Field[] = [
  {
    key: CLIENT_ID_SERVER_KEY,
    label: 'ID server',
    help: 'Where clients register and look each other up. Empty: the host of the api’s public URL.',
    pattern: HOST_PORT,
    problem: 'must be host or host:port',
    placeholder: 'rustdesk.example.com',
  },
  {
    key: CLIENT_RELAY_SERVER_KEY,
    label: 'Relay server',
    help: 'A fixed relay for clients. Empty: signal hands out the live relay nodes.',
    pattern: HOST_PORT,
    problem: 'must be host or host:port',
    placeholder: 'relay.example.com:21117',
  },
  {
    key: CLIENT_API_SERVER_KEY,
    label: 'API server',
    help: 'Where clients log in and send audit records. Empty: the api’s public URL.',
    pattern: HTTP_URL,
    problem: 'must be an http:// or https:// URL',
    placeholder: 'https://rustdesk.example.com',
  },
];

/** What RustDesk clients are told to use (the client configuration string is built from these). */
export function ClientServersSection({
  settings,
  canManage,
}: {
  settings: readonly Setting[];
  canManage: boolean;
}) {
  return (
    <section className="panel" aria-labelledby="client-servers-heading">
      <h2 id="client-servers-heading">Servers given to clients</h2>
      <p className="muted">
        What the client configuration below tells RustDesk clients. Leave a field empty to use what the server
        derives itself.
      </p>
      <div className="settings-fields">
        {FIELDS.map((field) => (
          <ServerField
            key={field.key}
            field={field}
            setting={settings.find((setting) => setting.key === field.key)}
            canManage={canManage}
          />
        ))}
      </div>
    </section>
  );
}

function ServerField({ field, setting, canManage }: { field: Field; setting?: Setting; canManage: boolean }) {
  const current = typeof setting?.value === 'string' ? setting.value : '';
  const save = useSaveSetting(field.key);
  const form = useForm<{ value: string }>({ values: { value: current } });
  const error = form.formState.errors.value;
  const id = field.key.replace(/\W/g, '-');
  return (
    <form
      className="settings-field"
      noValidate
      onSubmit={(event) =>
        void form.handleSubmit(({ value }) => save.mutate(value.trim() === '' ? null : value.trim()))(event)
      }
    >
      <label>
        {field.label}
        <input
          {...form.register('value', {
            validate: (value) => value.trim() === '' || field.pattern.test(value.trim()) || field.problem,
          })}
          readOnly={!canManage}
          placeholder={field.placeholder}
          aria-invalid={error !== undefined}
          aria-describedby={`${id}-help${error === undefined ? '' : ` ${id}-error`}`}
        />
      </label>
      <p id={`${id}-help`} className="muted settings-help">
        {field.help} <code>{field.key}</code>
      </p>
      {error?.message !== undefined && (
        <p id={`${id}-error`} className="field-error">
          {field.label} {error.message}
        </p>
      )}
      {save.error !== null && <ErrorNotice error={save.error} title="Not saved" />}
      {canManage && (
        <div className="settings-buttons">
          <button
            type="submit"
            className="button-small"
            disabled={!form.formState.isDirty || save.isPending}
            aria-label={`Save ${field.label}`}
          >
            Save
          </button>
        </div>
      )}
    </form>
  );
}
