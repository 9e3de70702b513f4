import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';

import { ConfirmDialog } from './confirm-dialog';
import { ErrorNotice } from './error-notice';

export interface PendingAction {
  readonly title: string;
  readonly confirmLabel: string;
  /** Exactly what will happen, with names and counts. */
  readonly body: ReactNode;
  readonly danger?: boolean;
  readonly run: () => Promise<unknown>;
  /** First segments of the query keys the action changes. */
  readonly invalidates: readonly string[];
  /** The id of what the action deletes: its own queries are not refetched (they would answer 404). */
  readonly deletes?: string;
  readonly onDone?: () => void;
}

/**
 * A destructive action behind ConfirmDialog: `ask` opens the dialog, which runs the action, shows the
 * api's refusal in place, and closes once it worked. Render `dialog` once in the page.
 */
export function useConfirmedAction(): { ask: (action: PendingAction) => void; dialog: ReactNode } {
  const client = useQueryClient();
  const [pending, setPending] = useState<PendingAction>();
  const mutation = useMutation({
    mutationFn: (action: PendingAction) => action.run(),
    onSuccess: (_result, action) => {
      setPending(undefined);
      action.onDone?.();
    },
    onSettled: (_result, error, action) =>
      Promise.all(
        action.invalidates.map((key) =>
          client.invalidateQueries({
            queryKey: [key],
            predicate: (query) =>
              error !== null || action.deletes === undefined || !query.queryKey.includes(action.deletes),
          }),
        ),
      ),
  });
  const dialog =
    pending === undefined ? null : (
      <ConfirmDialog
        open
        title={pending.title}
        confirmLabel={pending.confirmLabel}
        danger={pending.danger ?? true}
        busy={mutation.isPending}
        onConfirm={() => mutation.mutate(pending)}
        onCancel={() => setPending(undefined)}
      >
        {pending.body}
        {mutation.error !== null && <ErrorNotice error={mutation.error} title="Refused" />}
      </ConfirmDialog>
    );
  return {
    ask: (action) => {
      mutation.reset();
      setPending(action);
    },
    dialog,
  };
}
