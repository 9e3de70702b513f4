import './audit.css';

import { type KeyboardEvent } from 'react';
import { useSearchParams } from 'react-router';

import { PageHeader } from '../../ui/page-header';
import { AuditLogPanel } from './audit-log-panel';
import { ClientAuditPanel } from './client-audit-panel';

const TABS = [
  { id: 'log', label: 'Operator log' },
  { id: 'clients', label: 'RustDesk clients' },
] as const;
type TabId = (typeof TABS)[number]['id'];

/**
 * The audit trail: the hash-chained operator log, and what RustDesk clients reported. The tab and
 * the filters live in the address, so a filtered view can be bookmarked or sent to a colleague.
 */
export function AuditPage() {
  const [params, setParams] = useSearchParams();
  const current: TabId = params.get('view') === 'clients' ? 'clients' : 'log';
  const select = (id: TabId) => setParams({ view: id });
  // The WAI-ARIA tabs pattern: arrows move between tabs, Tab goes into the panel.
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    const step = event.key === 'ArrowRight' ? 1 : TABS.length - 1;
    const next = TABS[(TABS.findIndex((tab) => tab.id === current) + step) % TABS.length];
    if (next === undefined) return;
    select(next.id);
    document.getElementById(`audit-tab-${next.id}`)?.focus();
  };
  return (
    <>
      <PageHeader title="Audit" />
      <div className="audit-tabs" role="tablist" aria-label="Audit records" onKeyDown={onKeyDown}>
        {TABS.map((tab) => (
          <button
            key={tab.id}
            id={`audit-tab-${tab.id}`}
            type="button"
            role="tab"
            aria-selected={tab.id === current}
            aria-controls={`audit-panel-${tab.id}`}
            tabIndex={tab.id === current ? 0 : -1}
            onClick={() => select(tab.id)}
          >
            {tab.label}
          </button>
        ))}
      </div>
      <div
        id={`audit-panel-${current}`}
        role="tabpanel"
        aria-labelledby={`audit-tab-${current}`}
        className="audit-panel"
      >
        {current === 'log' ? <AuditLogPanel /> : <ClientAuditPanel />}
      </div>
    </>
  );
}
