/** `<input type="datetime-local">` (local time, no zone) as the api's ISO 8601 instant. */
export function isoOfLocal(value: string | null): string | undefined {
  if (value === null || value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The non-empty string fields of a form, trimmed. */
export function formFields(form: HTMLFormElement, names: readonly string[]): Record<string, string> {
  const data = new FormData(form);
  const fields: Record<string, string> = {};
  for (const name of names) {
    const value = data.get(name);
    if (typeof value === 'string' && value.trim() !== '') fields[name] = value.trim();
  }
  return fields;
}

/** `<input type="date">` as the api's ISO 8601 instant of the end of that day, local time. */
export function endOfDayIso(date: string): string {
  return new Date(`${date}T23:59:59`).toISOString();
}
