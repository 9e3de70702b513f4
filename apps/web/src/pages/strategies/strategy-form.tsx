import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';

import { api, unwrap } from '../../api/client';
import { ErrorNotice } from '../../ui/error-notice';
import { RowButton } from '../../ui/row-actions';
import { type StrategyView } from './strategies-types';

interface OptionRow {
  readonly row: number;
  readonly key: string;
  readonly value: string;
}

export interface StrategyDraft {
  readonly name: string;
  readonly note: string | null;
  readonly options: Record<string, string>;
}

export function useOptionKeys() {
  return useQuery({
    queryKey: ['strategies', 'option-keys'],
    queryFn: () => unwrap(api.GET('/api/v1/strategies/option-keys')),
    staleTime: Infinity,
  });
}

/**
 * A strategy's name, note and options. Keys come from the api's list of the options a RustDesk client
 * takes from a strategy; values are strings (empty: back to the client's default).
 */
export function StrategyForm({
  initial,
  submitLabel,
  busy,
  error,
  onSubmit,
}: {
  initial?: StrategyView;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (draft: StrategyDraft) => void;
}) {
  const optionKeys = useOptionKeys();
  const [name, setName] = useState(initial?.name ?? '');
  const [note, setNote] = useState(initial?.note ?? '');
  const [rows, setRows] = useState<OptionRow[]>(() =>
    Object.entries(initial?.options ?? {}).map(([key, value], row) => ({ row, key, value })),
  );
  const [nextRow, setNextRow] = useState(rows.length);
  const allowed = optionKeys.data?.keys ?? [];
  const used = new Set(rows.map((row) => row.key));
  const duplicate = rows.some((row, index) => rows.findIndex((other) => other.key === row.key) !== index);

  const update = (row: number, change: Partial<OptionRow>) =>
    setRows(rows.map((candidate) => (candidate.row === row ? { ...candidate, ...change } : candidate)));
  const addRow = () => {
    const key = allowed.find((candidate) => !used.has(candidate));
    if (key === undefined) return;
    setRows([...rows, { row: nextRow, key, value: '' }]);
    setNextRow(nextRow + 1);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit({
      name: name.trim(),
      note: note.trim() === '' ? null : note.trim(),
      options: Object.fromEntries(rows.map((row) => [row.key, row.value])),
    });
  };

  return (
    <form className="form strategy-form" onSubmit={submit}>
      <label>
        Name
        <input value={name} onChange={(event) => setName(event.target.value)} maxLength={128} required />
      </label>
      <label>
        Note (optional)
        <textarea value={note} onChange={(event) => setNote(event.target.value)} maxLength={4000} rows={2} />
      </label>
      <fieldset className="options">
        <legend>Client options</legend>
        {optionKeys.error !== null && <ErrorNotice error={optionKeys.error} title="Option keys not loaded" />}
        {rows.length === 0 && <p className="empty">No options: the strategy changes nothing yet.</p>}
        {rows.map((row, index) => (
          <div className="option-row" key={row.row}>
            <label>
              Option {index + 1}
              <select value={row.key} onChange={(event) => update(row.row, { key: event.target.value })}>
                {/* A key stored before the api's list changed stays visible, so it can be removed. */}
                {!allowed.includes(row.key) && <option value={row.key}>{row.key}</option>}
                {allowed
                  .filter((key) => key === row.key || !used.has(key))
                  .map((key) => (
                    <option key={key} value={key}>
                      {key}
                    </option>
                  ))}
              </select>
            </label>
            <label>
              Value of {row.key}
              <input
                value={row.value}
                maxLength={4096}
                onChange={(event) => update(row.row, { value: event.target.value })}
                placeholder="empty: the client's default"
              />
            </label>
            <RowButton
              label={`Remove option ${row.key}`}
              onClick={() => setRows(rows.filter((candidate) => candidate.row !== row.row))}
            >
              Remove
            </RowButton>
          </div>
        ))}
        <div>
          <button
            type="button"
            className="button-small"
            onClick={addRow}
            disabled={allowed.length === 0 || allowed.every((key) => used.has(key))}
          >
            Add option
          </button>
        </div>
      </fieldset>
      {duplicate && <p className="field-error">Each option may appear once.</p>}
      {error !== null && error !== undefined && <ErrorNotice error={error} title="Not saved" />}
      <div>
        <button type="submit" className="button-primary" disabled={busy || duplicate || name.trim() === ''}>
          {busy ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  );
}
