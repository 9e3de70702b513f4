import { useForm } from 'react-hook-form';

import { ErrorNotice } from '../../ui/error-notice';
import { useDeviceAction, useDeviceGroups } from './devices-api';
import { type DeviceDetails } from './devices-types';

interface EditValues {
  note: string;
  tags: string;
  group: string;
}

const MAX_TAGS = 32;

/** Tags as typed: comma-separated, trimmed, repeats dropped (the api does the same). */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((tag) => tag.trim())
        .filter((tag) => tag !== ''),
    ),
  ];
}

/** The operator's fields of a device: note, tags and device group. */
export function DeviceEditForm({
  device,
  onDone,
}: {
  device: DeviceDetails;
  onDone: (saved: boolean) => void;
}) {
  const groups = useDeviceGroups();
  const action = useDeviceAction(device.id);
  const form = useForm<EditValues>({
    defaultValues: { note: device.note ?? '', tags: device.tags.join(', '), group: device.group?.id ?? '' },
  });
  const errors = form.formState.errors;

  // Only what changed is sent: each field the api changes is its own line in the audit entry.
  const save = form.handleSubmit((values) => {
    const note = values.note.trim() === '' ? null : values.note;
    const tags = parseTags(values.tags);
    const group = values.group === '' ? null : values.group;
    const change = {
      ...(note === device.note ? {} : { note }),
      ...(tags.join('\n') === device.tags.join('\n') ? {} : { tags }),
      ...(group === (device.group?.id ?? null) ? {} : { group }),
    };
    if (Object.keys(change).length === 0) return onDone(false);
    action.mutate({ kind: 'update', ...change }, { onSuccess: () => onDone(true) });
  });

  return (
    <form className="form" onSubmit={(event) => void save(event)} noValidate>
      <label>
        Group
        <select {...form.register('group')}>
          <option value="">No group</option>
          {groups.data?.map((group) => (
            <option key={group.id} value={group.id}>
              {group.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Tags (separated by commas)
        <input
          {...form.register('tags', {
            validate: (text) => {
              const tags = parseTags(text);
              if (tags.length > MAX_TAGS) return `At most ${MAX_TAGS} tags.`;
              if (tags.some((tag) => tag.length > 64)) return 'A tag has at most 64 characters.';
              return true;
            },
          })}
          aria-invalid={errors.tags !== undefined}
          aria-describedby={errors.tags === undefined ? undefined : 'tags-error'}
        />
      </label>
      {errors.tags !== undefined && (
        <p className="field-error" id="tags-error">
          {errors.tags.message}
        </p>
      )}
      <label>
        Note
        <textarea
          rows={3}
          {...form.register('note', { maxLength: { value: 4_000, message: 'At most 4000 characters.' } })}
          aria-invalid={errors.note !== undefined}
        />
      </label>
      {errors.note !== undefined && <p className="field-error">{errors.note.message}</p>}
      {groups.error !== null && <ErrorNotice error={groups.error} title="Device groups" />}
      {action.error !== null && <ErrorNotice error={action.error} />}
      <div className="form-row">
        <button type="submit" className="button-primary" disabled={action.isPending}>
          {action.isPending ? 'Saving…' : 'Save'}
        </button>
        <button type="button" onClick={() => onDone(false)} disabled={action.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}
