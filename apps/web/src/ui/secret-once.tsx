import { type ReactNode } from 'react';

import { CopyButton } from './copy-button';

/**
 * A secret the api shows this one time (a one-time password, an API key, a registration token): the
 * value with a copy button and a way to hide it. It lives only in the page's state, never in a cache.
 */
export function SecretOnce({
  title,
  secret,
  secretLabel,
  onDone,
  children,
}: {
  title: string;
  secret: string;
  secretLabel: string;
  onDone: () => void;
  children?: ReactNode;
}) {
  return (
    <section className="secret-once" aria-label={title}>
      <p>
        <strong>{title}</strong>
      </p>
      <p className="muted">Shown only this once: copy it now, it cannot be shown again.</p>
      <div className="secret-row">
        <code className="secret-value" aria-label={secretLabel}>
          {secret}
        </code>
        <CopyButton text={secret} label={`Copy ${secretLabel.toLowerCase()}`} />
      </div>
      {children}
      <p>
        <button type="button" className="button-small" onClick={onDone}>
          Done, hide it
        </button>
      </p>
    </section>
  );
}
